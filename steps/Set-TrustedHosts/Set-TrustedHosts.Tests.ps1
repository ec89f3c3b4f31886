# Pester 5 tests of Set-TrustedHosts.ps1 in real pwsh; nothing here needs Windows. Run by `npm run test:ps`
# and `npm test` (scripts/test-ps.ts).
#
# The script runs exactly as the runner sends it, always under Set-StrictMode -Version Latest, with every
# Windows operation replaced through the seam (test/powershell/SeamTestKit.psm1): LabSeam binds the seam to
# a lab host, and single seam functions are replaced by fakes that throw the error records Windows really
# produces. The last test checks every envelope printed here against the zod schemas the activities use.

BeforeAll {
    Import-Module -Name (Join-Path -Path $PSScriptRoot -ChildPath '../../test/powershell/SeamTestKit.psm1') -Force
    Import-Module -Name (Join-Path -Path $PSScriptRoot -ChildPath '../../test/powershell/LabSeam.psm1') -Force
    $script:SettingPath = 'WSMan:\localhost\Client\TrustedHosts'

    function New-ThRequest {
        param([string]$Mode = 'plan', $Entries = @('a.corp.example'), $RollbackTo = $null)
        return [ordered]@{ mode = $Mode; params = [ordered]@{ Entries = $Entries }; rollbackTo = $RollbackTo }
    }

    function Invoke-Th {
        param($Request, [string]$RequestJson)
        return (Invoke-StepEnvelope -Name 'Set-TrustedHosts' -Request $Request -RequestJson $RequestJson)
    }

    function Use-ThHost {
        param([string]$Value = '', [bool]$Gpo = $false)
        $machine = New-LabHost -Profile fresh
        $machine.trustedHosts.value = $Value
        $machine.trustedHosts.policyControlled = $Gpo
        Use-LabSeam -Machine $machine
        return $machine
    }

    function Get-Writes {
        return , @(Get-SeamCall -Name Set-WinWsmanItem)
    }
}

AfterAll {
    Remove-SeamFake
}

Describe 'Set-TrustedHosts.ps1' {
    It 'does every Windows operation through the seam' {
        Get-StepSeamViolation -Name 'Set-TrustedHosts' | Should -BeNullOrEmpty
        $commands = (Get-StepScriptCommand -Name 'Set-TrustedHosts').Commands
        $commands | Should -Contain 'Get-WinWsmanItem'
        $commands | Should -Contain 'Set-WinWsmanItem'
        $commands | Should -Contain 'Get-WinRegistryValue'
    }

    Context 'plan, apply, verify and rollback on a lab host' {
        It 'merges <Entries> into <Current> as <Merged>' -ForEach @(
            @{ Current = ''; Entries = @('a.corp.example'); Merged = 'a.corp.example' }
            @{ Current = 'a.corp.example'; Entries = @('a.corp.example', 'b.corp.example'); Merged = 'a.corp.example,b.corp.example' }
            @{ Current = 'legacy.corp.example, A.corp.example,,'; Entries = @('a.corp.example', 'b.corp.example'); Merged = 'legacy.corp.example,A.corp.example,b.corp.example' }
            @{ Current = 'x.corp.example'; Entries = @('b.corp.example', 'B.corp.example'); Merged = 'x.corp.example,b.corp.example' }
            @{ Current = '*.corp.example'; Entries = @('a.corp.example'); Merged = '*.corp.example,a.corp.example' }
            @{ Current = 'a.corp.example,192.168.1.*'; Entries = @('*'); Merged = '*' }
            @{ Current = '*'; Entries = @('a.corp.example'); Merged = '*' }
        ) {
            $machine = Use-ThHost -Value $Current
            $plan = Invoke-Th (New-ThRequest -Mode plan -Entries $Entries)
            $plan.ok | Should -BeTrue
            $plan.before.value | Should -Be $Current
            $plan.after.value | Should -Be $Merged
            $plan.changed | Should -Be ($Current -cne $Merged)
            Get-Writes | Should -BeNullOrEmpty
            $apply = Invoke-Th (New-ThRequest -Mode apply -Entries $Entries)
            $apply.after.value | Should -Be $Merged
            $machine.trustedHosts.value | Should -Be $Merged
            (Get-Writes).Count | Should -Be ([int]($Current -cne $Merged))
        }

        It 'apply, verify, then rollback writes back the exact saved value' {
            $machine = Use-ThHost -Value 'legacy.corp.example'
            $plan = Invoke-Th (New-ThRequest -Mode plan -Entries @('a.corp.example'))
            (Invoke-Th (New-ThRequest -Mode apply -Entries @('a.corp.example'))).changed | Should -BeTrue
            $verify = Invoke-Th (New-ThRequest -Mode plan -Entries @('a.corp.example'))
            $verify.compliant | Should -BeTrue
            $verify.changed | Should -BeFalse
            $rollback = Invoke-Th (New-ThRequest -Mode rollback -Entries @('a.corp.example') -RollbackTo $plan.before)
            $rollback.ok | Should -BeTrue
            $rollback.after.value | Should -Be 'legacy.corp.example'
            $machine.trustedHosts.value | Should -Be 'legacy.corp.example'
            $writes = Get-Writes
            $writes.Count | Should -Be 2
            $writes[0].Parameters.Path | Should -Be $script:SettingPath
            $writes[1].Parameters.Value | Should -Be 'legacy.corp.example'
        }

        It 'rolls back only its own entries, keeping <Case>' -ForEach @(
            @{ Case = 'an entry added by someone else after the apply'; Saved = 'legacy.corp.example'; Entries = @('a.corp.example', 'legacy.corp.example'); Meanwhile = 'legacy.corp.example,a.corp.example,jump.corp.example'; Back = 'legacy.corp.example,jump.corp.example' }
            @{ Case = 'the spelling of entries that were there before'; Saved = 'A.corp.example'; Entries = @('a.corp.example', 'b.corp.example'); Meanwhile = 'A.corp.example,B.corp.example'; Back = 'A.corp.example' }
            @{ Case = 'the list, when the apply wrote * over it and it is still *'; Saved = 'legacy.corp.example'; Entries = @('*'); Meanwhile = '*'; Back = 'legacy.corp.example' }
            @{ Case = 'what someone wrote over the * since'; Saved = 'legacy.corp.example'; Entries = @('*'); Meanwhile = 'jump.corp.example,*'; Back = 'jump.corp.example' }
            @{ Case = 'everything, when a saved * covered the entries (the apply wrote nothing)'; Saved = '*'; Entries = @('a.corp.example'); Meanwhile = '*,jump.corp.example'; Back = '*,jump.corp.example' }
        ) {
            $machine = Use-ThHost -Value $Meanwhile
            $rollback = Invoke-Th (New-ThRequest -Mode rollback -Entries $Entries -RollbackTo ([ordered]@{ value = $Saved; policyControlled = $false }))
            $rollback.ok | Should -BeTrue
            $rollback.after.value | Should -Be $Back
            $machine.trustedHosts.value | Should -Be $Back
            (Get-Writes).Count | Should -Be ([int]($Meanwhile -cne $Back))
        }

        It 'rolls back to an empty saved list (the saved state says so)' {
            $machine = Use-ThHost -Value 'a.corp.example'
            $rollback = Invoke-Th (New-ThRequest -Mode rollback -RollbackTo ([ordered]@{ value = ''; policyControlled = $false }))
            $rollback.ok | Should -BeTrue
            $machine.trustedHosts.value | Should -Be ''
        }

        It 'warns about a wildcard it would set' {
            Use-ThHost -Value '' | Out-Null
            $plan = Invoke-Th (New-ThRequest -Mode plan -Entries @('*'))
            $plan.after.value | Should -Be '*'
            @($plan.warnings).Count | Should -Be 1
            $plan.warnings[0] | Should -BeLike "TrustedHosts '*'*"
        }

        It 'is compliant when a Group Policy already holds every entry' {
            Use-ThHost -Value 'a.corp.example' -Gpo $true | Out-Null
            $envelope = Invoke-Th (New-ThRequest -Mode apply)
            $envelope.ok | Should -BeTrue
            $envelope.compliant | Should -BeTrue
            $envelope.before.policyControlled | Should -BeTrue
            Get-Writes | Should -BeNullOrEmpty
        }

        It 'fails <Mode> with PolicyControlled, naming the policy and the fix, writing nothing, when a Group Policy owns a list that must change' -ForEach @(
            @{ Mode = 'plan'; Value = 'gpo.corp.example' }
            @{ Mode = 'apply'; Value = 'gpo.corp.example' }
            @{ Mode = 'rollback'; Value = 'gpo.corp.example,a.corp.example' }
        ) {
            $machine = Use-ThHost -Value $Value -Gpo $true
            $envelope = Invoke-Th (New-ThRequest -Mode $Mode -RollbackTo ([ordered]@{ value = ''; policyControlled = $false }))
            $envelope.ok | Should -BeFalse
            $envelope.error.code | Should -Be 'PolicyControlled'
            Get-FailureType -Code $envelope.error.code -Class $envelope.error.class | Should -Be 'PolicyControlled'
            $envelope.error.message | Should -BeLike "*Group Policy 'Windows Remote Management (WinRM) > WinRM Client > Trusted Hosts'*Not Configured*"
            Get-Writes | Should -BeNullOrEmpty
            $machine.trustedHosts.value | Should -Be $Value
        }

        It 'sees a Group Policy from <Signal> alone' -ForEach @(
            @{ Signal = 'WinRM reporting the source as GPO'; Source = 'GPO'; Name = 'none' }
            @{ Signal = 'the policy''s TrustedHosts switch'; Source = $null; Name = 'TrustedHosts' }
            @{ Signal = 'the policy''s TrustedHostsList'; Source = $null; Name = 'TrustedHostsList' }
        ) {
            Use-ThHost -Value '' | Out-Null
            $source = $Source
            $policyName = $Name
            Set-SeamFake -Name Get-WinWsmanItem -ScriptBlock { param($Path) [pscustomobject]@{ Name = 'TrustedHosts'; Value = ''; SourceOfValue = $source } }.GetNewClosure()
            Set-SeamFake -Name Get-WinRegistryValue -ScriptBlock { param($Key, $Name) if ($Name -eq $policyName) { 1 } }.GetNewClosure()
            (Invoke-Th (New-ThRequest -Mode apply)).error.code | Should -Be 'PolicyControlled'
            Get-Writes | Should -BeNullOrEmpty
        }
    }

    Context 'one writer at a time: the machine''s TrustedHosts lock' {
        It 'takes Global\Monosync-TrustedHosts before reading in <Mode> and lets it go after the write' -ForEach @(
            @{ Mode = 'apply'; RollbackTo = $null }
            @{ Mode = 'rollback'; RollbackTo = [ordered]@{ value = 'legacy.corp.example'; policyControlled = $false } }
        ) {
            $machine = Use-ThHost -Value 'legacy.corp.example'
            if ($Mode -eq 'rollback') { $machine.trustedHosts.value = 'legacy.corp.example,a.corp.example' }
            $envelope = Invoke-Th (New-ThRequest -Mode $Mode -RollbackTo $RollbackTo)
            $envelope.ok | Should -BeTrue
            $envelope.changed | Should -BeTrue
            $order = @(Get-SeamCall | Where-Object { $_.Name -like '*Mutex' -or $_.Name -like '*-WinWsmanItem' } | ForEach-Object { $_.Name })
            $order[0] | Should -Be 'New-WinNamedMutex'
            $order[1] | Should -Be 'Wait-WinMutex'
            $order[-2] | Should -Be 'Exit-WinMutex'
            $order[-1] | Should -Be 'Close-WinMutex'
            $order | Should -Contain 'Set-WinWsmanItem'
            (Get-SeamCall -Name New-WinNamedMutex)[0].Parameters.Name | Should -Be 'Global\Monosync-TrustedHosts'
            (Get-SeamCall -Name Wait-WinMutex)[0].Parameters.Mutex.held | Should -BeFalse -Because 'released again'
        }

        It 'takes no lock to plan' {
            Use-ThHost -Value '' | Out-Null
            (Invoke-Th (New-ThRequest -Mode plan)).ok | Should -BeTrue
            Get-SeamCall -Name New-WinNamedMutex | Should -BeNullOrEmpty
        }

        It 'fails as a transient Timeout, reading and writing nothing, when another run keeps the lock' {
            $machine = Use-ThHost -Value 'keep.corp.example'
            Set-SeamFake -Name Wait-WinMutex -ScriptBlock { param($Mutex, $TimeoutMs) $false }
            $envelope = Invoke-Th (New-ThRequest -Mode apply)
            $envelope.ok | Should -BeFalse
            $envelope.error.code | Should -Be 'Timeout'
            $envelope.error.class | Should -Be 'transient'
            Get-FailureType -Code $envelope.error.code -Class $envelope.error.class | Should -Be 'WinRMTimeout'
            Get-SeamCall -Name Get-WinWsmanItem | Should -BeNullOrEmpty
            Get-Writes | Should -BeNullOrEmpty
            Get-SeamCall -Name Exit-WinMutex | Should -BeNullOrEmpty -Because 'a mutex not taken is not released'
            (Get-SeamCall -Name Close-WinMutex).Count | Should -Be 1
            $machine.trustedHosts.value | Should -Be 'keep.corp.example'
        }

        It 'lets the lock go when the write fails' {
            Use-ThHost -Value 'keep.corp.example' | Out-Null
            $record = New-WsmanProviderError -Command SetItem -Message $WinText.AccessDenied
            Set-SeamFake -Name Set-WinWsmanItem -ScriptBlock { param($Path, $Value) throw $record }.GetNewClosure()
            $envelope = Invoke-Th (New-ThRequest -Mode apply)
            $envelope.error.code | Should -Be '5'
            (Get-SeamCall -Name Exit-WinMutex).Count | Should -Be 1
            (Get-SeamCall -Name Close-WinMutex).Count | Should -Be 1
        }

        It 'takes over a lock its last holder abandoned, reads the list afresh and says so' {
            $machine = Use-ThHost -Value 'legacy.corp.example'
            Set-SeamFake -Name Wait-WinMutex -ScriptBlock { param($Mutex, $TimeoutMs) $Mutex.held = $true; throw (New-Object -TypeName System.Threading.AbandonedMutexException) }
            $envelope = Invoke-Th (New-ThRequest -Mode apply)
            $envelope.ok | Should -BeTrue
            $machine.trustedHosts.value | Should -Be 'legacy.corp.example,a.corp.example'
            @($envelope.warnings | Where-Object { $_ -like '*lock ended without releasing it*' }).Count | Should -Be 1
            (Get-SeamCall -Name Exit-WinMutex).Count | Should -Be 1
        }
    }

    Context 'a rollback never acts without the saved state' {
        It 'refuses rollbackTo <Case> with InvalidInput, leaving the list alone' -ForEach @(
            @{ Case = 'missing from the request'; Json = '{"mode":"rollback","params":{"Entries":["a.corp.example"]}}' }
            @{ Case = 'null (which once wrote an empty list over everybody''s entries)'; Json = '{"mode":"rollback","params":{"Entries":["a.corp.example"]},"rollbackTo":null}' }
            @{ Case = '{}'; Json = '{"mode":"rollback","params":{"Entries":["a.corp.example"]},"rollbackTo":{}}' }
            @{ Case = 'without policyControlled'; Json = '{"mode":"rollback","params":{"Entries":["a.corp.example"]},"rollbackTo":{"value":""}}' }
            @{ Case = 'without value'; Json = '{"mode":"rollback","params":{"Entries":["a.corp.example"]},"rollbackTo":{"policyControlled":false}}' }
            @{ Case = 'with value null'; Json = '{"mode":"rollback","params":{"Entries":["a.corp.example"]},"rollbackTo":{"value":null,"policyControlled":false}}' }
            @{ Case = 'with value as a one-element array'; Json = '{"mode":"rollback","params":{"Entries":["a.corp.example"]},"rollbackTo":{"value":["a.corp.example"],"policyControlled":false}}' }
            @{ Case = 'with value as an empty array'; Json = '{"mode":"rollback","params":{"Entries":["a.corp.example"]},"rollbackTo":{"value":[],"policyControlled":false}}' }
            @{ Case = 'as an empty array'; Json = '{"mode":"rollback","params":{"Entries":["a.corp.example"]},"rollbackTo":[]}' }
            @{ Case = 'as the bare value'; Json = '{"mode":"rollback","params":{"Entries":["a.corp.example"]},"rollbackTo":""}' }
        ) {
            $machine = Use-ThHost -Value 'keep.corp.example,other.corp.example'
            $envelope = Invoke-Th -RequestJson $Json
            $envelope.ok | Should -BeFalse
            $envelope.mode | Should -Be 'rollback'
            $envelope.error.code | Should -Be 'InvalidInput'
            Get-SeamCall -Name Get-WinWsmanItem | Should -BeNullOrEmpty
            Get-Writes | Should -BeNullOrEmpty
            $machine.trustedHosts.value | Should -Be 'keep.corp.example,other.corp.example'
        }

        It 'refuses a rollback by hand without -RollbackToJson or -Entries, and does one with both' {
            $machine = Use-ThHost -Value 'old.corp.example,new.corp.example'
            $path = Save-StepScript -Name 'Set-TrustedHosts' -Path (Join-Path -Path $TestDrive -ChildPath 'Set-TrustedHosts.ps1') -StrictMode $true
            (ConvertFrom-StepEnvelope -Script 'Set-TrustedHosts' -Output @(& $path -Mode rollback -Entries 'new.corp.example')).error.code | Should -Be 'InvalidInput'
            (ConvertFrom-StepEnvelope -Script 'Set-TrustedHosts' -Output @(& $path -Mode rollback -RollbackToJson '{"value":"old.corp.example","policyControlled":false}')).error.code | Should -Be 'InvalidInput'
            $machine.trustedHosts.value | Should -Be 'old.corp.example,new.corp.example'
            $done = ConvertFrom-StepEnvelope -Script 'Set-TrustedHosts' -Output @(& $path -Mode rollback -Entries 'new.corp.example' -RollbackToJson '{"value":"old.corp.example","policyControlled":false}')
            $done.ok | Should -BeTrue
            $machine.trustedHosts.value | Should -Be 'old.corp.example'
        }
    }

    Context 'the script''s own validation refuses every hostile value' {
        It 'Entries <Shown> in <Mode>: refused unless it is the bare wildcard' -ForEach @(
            foreach ($mode in 'plan', 'apply') {
                Import-Module -Name (Join-Path -Path $PSScriptRoot -ChildPath '../../test/powershell/SeamTestKit.psm1')
                foreach ($hostile in Get-HostileValue) {
                    foreach ($value in @($hostile, "exch01.corp.example$hostile", "${hostile}exch01.corp.example")) {
                        @{ Mode = $mode; Value = $value; Shown = (ConvertTo-Json -InputObject $value -Compress) }
                    }
                }
            }
        ) {
            $machine = Use-ThHost -Value 'keep.corp.example'
            $lists = New-Object -TypeName 'System.Collections.Generic.List[object]'
            $lists.Add([string[]]@($Value))
            $lists.Add([string[]]@('a.corp.example', $Value))
            foreach ($entries in $lists) {
                Clear-SeamCall
                $envelope = Invoke-Th (New-ThRequest -Mode $Mode -Entries $entries)
                if ($Value -ceq '*') {
                    # '*' is a TrustedHosts value, inert as data (test/powershell-injection.test.ts accepts it too).
                    $envelope.ok | Should -BeTrue
                    $envelope.after.value | Should -Be '*'
                    continue
                }
                $envelope.ok | Should -BeFalse
                $envelope.error.code | Should -Be 'InvalidInput'
                Get-SeamCall -Name Get-WinWsmanItem | Should -BeNullOrEmpty
                Get-Writes | Should -BeNullOrEmpty
            }
            $machine.trustedHosts.value | Should -BeIn @('keep.corp.example', '*')
        }

        It 'refuses rollbackTo.value <Shown> unless a TrustedHosts list can hold it' -ForEach @(
            Import-Module -Name (Join-Path -Path $PSScriptRoot -ChildPath '../../test/powershell/SeamTestKit.psm1')
            foreach ($hostile in Get-HostileValue) {
                foreach ($value in @($hostile, "keep.corp.example$hostile", "${hostile}keep.corp.example")) { @{ Value = $value; Shown = (ConvertTo-Json -InputObject $value -Compress) } }
            }
        ) {
            $machine = Use-ThHost -Value 'now.corp.example,a.corp.example'
            $envelope = Invoke-Th (New-ThRequest -Mode rollback -RollbackTo ([ordered]@{ value = $Value; policyControlled = $false }))
            if ($Value -cmatch '^[A-Za-z0-9.*:_<>\[\]%, -]*\z') {
                # Taken as a saved list: it only says which entries were there before; no value of it is written.
                $envelope.ok | Should -BeTrue
                $machine.trustedHosts.value | Should -BeIn @('now.corp.example', 'now.corp.example,a.corp.example')
            } else {
                $envelope.error.code | Should -Be 'InvalidInput'
                Get-Writes | Should -BeNullOrEmpty
                $machine.trustedHosts.value | Should -Be 'now.corp.example,a.corp.example'
            }
        }

        It 'refuses Entries <Case>' -ForEach @(
            @{ Case = 'as an empty array'; Entries = , @() }
            @{ Case = 'null'; Entries = $null }
            @{ Case = 'holding null'; Entries = , @($null) }
            @{ Case = 'holding one empty entry'; Entries = , @('') }
            @{ Case = 'holding a valid and an empty entry'; Entries = , @('a.corp.example', '') }
            @{ Case = 'as a bare string, not an array'; Entries = 'a.corp.example' }
            @{ Case = 'holding a number'; Entries = , @(1) }
            @{ Case = 'holding an object'; Entries = , @(@{ host = 'a.corp.example' }) }
            @{ Case = 'with a space inside'; Entries = , @('a corp.example') }
            @{ Case = 'with a zero-width space'; Entries = , @("a.corp.example$([char]0x200B)") }
            @{ Case = 'with two wildcards'; Entries = , @('*.*.corp.example') }
        ) {
            $machine = Use-ThHost -Value 'keep.corp.example'
            $envelope = Invoke-Th (New-ThRequest -Mode apply -Entries $Entries)
            $envelope.ok | Should -BeFalse
            $envelope.error.code | Should -Be 'InvalidInput'
            Get-Writes | Should -BeNullOrEmpty
            $machine.trustedHosts.value | Should -Be 'keep.corp.example'
        }

        It 'takes a one-element list' {
            Use-ThHost -Value '' | Out-Null
            (Invoke-Th (New-ThRequest -Mode apply -Entries @('a.corp.example'))).after.value | Should -Be 'a.corp.example'
        }

        It 'refuses a request whose <Case>' -ForEach @(
            @{ Case = 'params are missing'; Json = '{"mode":"apply","rollbackTo":null}' }
            @{ Case = 'params are null'; Json = '{"mode":"apply","params":null,"rollbackTo":null}' }
            @{ Case = 'params are an array'; Json = '{"mode":"apply","params":[{"Entries":["a.corp.example"]}],"rollbackTo":null}' }
            @{ Case = 'params hold a member the step does not take'; Json = '{"mode":"apply","params":{"Entries":["a.corp.example"],"Append":false},"rollbackTo":null}' }
            @{ Case = 'mode is unknown'; Json = '{"mode":"merge","params":{"Entries":["a.corp.example"]},"rollbackTo":null}' }
            @{ Case = 'mode has a zero-width space'; Json = '{"mode":"apply\u200b","params":{"Entries":["a.corp.example"]},"rollbackTo":null}' }
        ) {
            Use-ThHost -Value 'keep.corp.example' | Out-Null
            $envelope = Invoke-Th -RequestJson $Json
            $envelope.ok | Should -BeFalse
            $envelope.error.code | Should -Be 'InvalidInput'
            Get-Writes | Should -BeNullOrEmpty
        }
    }

    Context 'errors as Windows produces them' {
        It '<Case> -> <Type>' -ForEach @(
            @{ Case = 'a GPO applied between the check and the write (the WSMan provider''s policy text)'; Seam = 'Set-WinWsmanItem'; Type = 'PolicyControlled'; Code = 'PolicyControlled'
                Throw = { New-WsmanProviderError -Command SetItem -Message $WinText.TrustedHostsPolicy } }
            @{ Case = 'the write refused by WinRM (Access is denied, fault Code 5)'; Seam = 'Set-WinWsmanItem'; Type = 'AccessDenied'; Code = '5'
                Throw = { New-WsmanProviderError -Command SetItem -Message $WinText.AccessDenied } }
            @{ Case = 'the read refused: not elevated'; Seam = 'Get-WinWsmanItem'; Type = 'AccessDenied'; Code = '5'
                Throw = { New-WsmanProviderError -Command GetItem -Message $WinText.AccessDeniedElevation } }
            @{ Case = 'the policy key unreadable (not taken for "no policy")'; Seam = 'Get-WinRegistryValue'; Type = 'AccessDenied'; Code = '5'
                Throw = { New-MethodInvocationError -Method GetValue -ArgumentCount 3 -InnerException (New-Object -TypeName System.Security.SecurityException -ArgumentList $WinText.RegistryAccessDenied) } }
        ) {
            $machine = Use-ThHost -Value 'keep.corp.example'
            $record = & $Throw
            Set-SeamFake -Name $Seam -ScriptBlock { throw $record }.GetNewClosure()
            $envelope = Invoke-Th (New-ThRequest -Mode apply)
            $envelope.ok | Should -BeFalse
            $envelope.changed | Should -BeFalse
            $envelope.error.code | Should -Be $Code
            Get-FailureType -Code $envelope.error.code -Class $envelope.error.class | Should -Be $Type
            $machine.trustedHosts.value | Should -Be 'keep.corp.example'
        }
    }

    It 'prints only envelopes that match domain/envelope.ts and the step''s state schema (zod, via node)' {
        Assert-StepEnvelopeContract | Should -BeGreaterThan 50
    }
}
