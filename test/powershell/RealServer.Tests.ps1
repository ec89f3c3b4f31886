# Pester 5: the step scripts UNFAKED, on this machine, for whoever has a Windows lab server (README, "Testing
# the PowerShell scripts"). No seam function is replaced: every Windows operation is real. Each script gets
# the text the runner sends and the parameters the product would send this server of a fleet file
# (test/powershell/real-server-calls.ts), and every envelope is checked against the zod schemas the
# activities use.
#
#   RealServer       plan of every step that runs here, and apply of the read-only ones (a verify); reads
#                    only, and checks that the snapshot of the server is the same afterwards
#   RealServerApply  plan, apply, verify, rollback to what the plan found, verify, for each change step;
#                    only with MONOSYNC_REAL_SERVER_APPLY=1, never on a domain controller
#
# npm test and npm run test:ps leave both tags out (scripts/test-ps.ts); ask for them by name:
#   npm run test:ps -- --tag RealServer test/powershell/RealServer.Tests.ps1
# Where they must not run (not Windows, not elevated, no fleet file, no opt-in, a domain controller) each
# Describe holds one skipped test whose name says why (test/powershell-real-server.test.ts checks that).
# Settings: test/powershell/RealServerKit.psm1.

BeforeDiscovery {
    Import-Module -Name (Join-Path -Path $PSScriptRoot -ChildPath 'SeamTestKit.psm1') -Force
    Import-Module -Name (Join-Path -Path $PSScriptRoot -ChildPath 'RealServerKit.psm1') -Force
    $fact = Get-RealServerFact
    $planRefusal = Get-RealServerRefusal -Fact $fact
    $applyRefusal = Get-RealServerRefusal -Fact $fact -Apply
    $planSteps = @()
    $applySteps = @()
    $notHere = @()
    if ($null -eq $planRefusal) {
        foreach ($step in (Get-RealServerCall -Fact $fact).steps) {
            $entry = @{ Script = [string]$step.script; RunsOn = [string]$step.runsOn; ReadOnly = [bool]$step.readOnly }
            if (-not $step.applies) {
                $notHere += @{ Script = $entry.Script; Why = 'the fleet''s policy skips it' }
            } elseif ($fact.Hosts -notcontains $entry.RunsOn) {
                $notHere += @{ Script = $entry.Script; Why = "the product runs it on the $($entry.RunsOn) host: add $($entry.RunsOn) to MONOSYNC_REAL_SERVER_HOSTS if this machine is one" }
            } else {
                $planSteps += $entry
                if (-not $entry.ReadOnly) { $applySteps += $entry }
            }
        }
    }
}

BeforeAll {
    Import-Module -Name (Join-Path -Path $PSScriptRoot -ChildPath 'SeamTestKit.psm1') -Force
    Import-Module -Name (Join-Path -Path $PSScriptRoot -ChildPath 'RealServerKit.psm1') -Force

    function Invoke-RealStep {
        # One call of a step as the runner makes it, unfaked; the envelope checked for its shape and kept
        # for the zod check. Throws with the script's own error when the envelope is not ok.
        param([Parameter(Mandatory = $true)][string]$Script, [Parameter(Mandatory = $true)][string]$Mode, $RollbackTo = $null)
        $step = @($script:Calls.steps | Where-Object { $_.script -eq $Script })[0]
        $request = [ordered]@{ mode = $Mode; params = $step.params; rollbackTo = $RollbackTo }
        $output = @(Invoke-StepScript -Text $script:Calls.scripts[$Script] -Request $request)
        $envelope = ConvertFrom-StepEnvelope -Script $Script -Output $output
        $envelope.mode | Should -Be $Mode
        $envelope.target | Should -Not -BeNullOrEmpty
        if (-not $envelope.ok) { throw ('{0} -Mode {1} failed on this server: {2}' -f $Script, $Mode, [string]$output[0]) }
        return [pscustomobject]@{ Envelope = $envelope; Raw = (ConvertFrom-JsonDocument -Json ([string]$output[0])) }
    }

    function Get-StateJson {
        # A state as comparable text: the envelope's JSON parsed without losing arrays or date text.
        param($State)
        return (ConvertTo-Json -InputObject $State -Depth 30 -Compress)
    }

    function Get-ServerSnapshotJson {
        return (Get-StateJson -State (Invoke-RealStep -Script 'Get-OnboardingSnapshot' -Mode plan).Raw['before'])
    }

    function Wait-RealStepPlan {
        # Plans until -Until holds for the plan's raw envelope or the settle time is over (a change such as a
        # WinRM restart takes effect after the script returns); returns the last plan.
        param([Parameter(Mandatory = $true)][string]$Script, [Parameter(Mandatory = $true)][scriptblock]$Until)
        $deadline = [DateTime]::UtcNow.AddSeconds($script:Fact.SettleSeconds)
        while ($true) {
            $plan = Invoke-RealStep -Script $Script -Mode plan
            if ((& $Until $plan.Raw) -or [DateTime]::UtcNow -gt $deadline) { return $plan }
            Start-Sleep -Seconds 5
        }
    }
}

AfterAll {
    Remove-Module -Name RealServerKit -Force -ErrorAction SilentlyContinue
}

Describe 'the step scripts unfaked on this server: plan reads, and changes nothing' -Tag 'RealServer' {
    if ($null -ne $planRefusal) {
        # The reason is the test's name, so it is printed once, in every report.
        It 'does not run here: <_>' -ForEach @($planRefusal) {
            Set-ItResult -Skipped
        }
    } else {
        BeforeAll {
            Remove-SeamFake
            $script:Fact = Get-RealServerFact
            $script:Calls = Get-RealServerCall -Fact $script:Fact
            $script:SnapshotBefore = $null
        }

        It 'runs with no seam function replaced' {
            Get-SeamAliasLeft | Should -BeNullOrEmpty
        }

        It 'reads this server first (Get-OnboardingSnapshot)' {
            $script:SnapshotBefore = Get-ServerSnapshotJson
            $script:SnapshotBefore | Should -Not -BeNullOrEmpty
        }

        It 'plans <Script> with the parameters the product sends this server' -ForEach $planSteps {
            $plan = Invoke-RealStep -Script $Script -Mode plan
            $plan.Raw.Contains('before') | Should -BeTrue
        }

        It 'verifies <Script> (apply of a read-only step only reads)' -ForEach @($planSteps | Where-Object { $_.ReadOnly }) {
            $verify = Invoke-RealStep -Script $Script -Mode apply
            $verify.Envelope.changed | Should -BeFalse
        }

        It 'does not run <Script>: <Why>' -ForEach $notHere {
            Set-ItResult -Skipped
        }

        It 'changed nothing: the snapshot afterwards equals the one before' {
            $script:SnapshotBefore | Should -Not -BeNullOrEmpty -Because 'the first snapshot was taken'
            Get-ServerSnapshotJson | Should -BeExactly $script:SnapshotBefore
        }

        It 'printed only envelopes that match domain/envelope.ts and each step''s state schema (zod, via node)' {
            Assert-StepEnvelopeContract | Should -BeGreaterThan 0
        }
    }
}

Describe 'the change steps unfaked on this lab server: apply, verify, roll back to what plan found' -Tag 'RealServerApply' {
    if ($null -ne $applyRefusal) {
        # The reason is the test's name, so it is printed once, in every report.
        It 'does not run here: <_>' -ForEach @($applyRefusal) {
            Set-ItResult -Skipped
        }
    } else {
        BeforeAll {
            Remove-SeamFake
            $script:Fact = Get-RealServerFact
            $script:Calls = Get-RealServerCall -Fact $script:Fact
            $script:SnapshotBefore = Get-ServerSnapshotJson
        }

        It 'runs with no seam function replaced' {
            Get-SeamAliasLeft | Should -BeNullOrEmpty
        }

        It '<Script>: plan, apply, verify, rollback to the plan''s before, verify' -ForEach $applySteps {
            $plan = Invoke-RealStep -Script $Script -Mode plan
            $saved = $plan.Raw['before']
            $savedJson = Get-StateJson -State $saved
            try {
                Invoke-RealStep -Script $Script -Mode apply | Out-Null
                $verified = Wait-RealStepPlan -Script $Script -Until { param($raw) [bool]$raw['compliant'] }
                $verified.Envelope.compliant | Should -BeTrue -Because 'a plan after apply finds the desired state'
            } finally {
                # Always back to what the plan found, also when apply or its verify failed.
                Invoke-RealStep -Script $Script -Mode rollback -RollbackTo $saved | Out-Null
            }
            $restored = Wait-RealStepPlan -Script $Script -Until { param($raw) (Get-StateJson -State $raw['before']) -eq $savedJson }
            Get-StateJson -State $restored.Raw['before'] | Should -BeExactly $savedJson -Because 'rollback restores the state the plan found'
        }

        It 'left the server as it found it: the snapshot equals the one before' {
            Get-ServerSnapshotJson | Should -BeExactly $script:SnapshotBefore
        }

        It 'printed only envelopes that match domain/envelope.ts and each step''s state schema (zod, via node)' {
            Assert-StepEnvelopeContract | Should -BeGreaterThan 0
        }
    }
}
