# Pester 5 tests of Set-CbtHardening.ps1 in real pwsh; nothing here needs Windows. Run by `npm run test:ps`
# and `npm test` (scripts/test-ps.ts).
#
# The script runs exactly as the runner sends it (its standalone text with powershell/MonosyncCommon.ps1 in
# place, one script block in a fresh module, the request as base64 JSON), always under Set-StrictMode
# -Version Latest, with every Windows operation replaced through the seam (test/powershell/SeamTestKit.psm1):
# LabSeam binds the seam to a lab host (the LabHost JSON of lab/model.ts), and single seam functions are
# replaced by fakes that throw the error records Windows really produces. The last test checks every
# envelope printed here against the zod schemas the activities use.

BeforeAll {
    Import-Module -Name (Join-Path -Path $PSScriptRoot -ChildPath '../../test/powershell/SeamTestKit.psm1') -Force
    Import-Module -Name (Join-Path -Path $PSScriptRoot -ChildPath '../../test/powershell/LabSeam.psm1') -Force
    $script:SettingPath = 'WSMan:\localhost\Service\Auth\CbtHardeningLevel'

    function New-CbtRequest {
        param([string]$Mode = 'plan', $Level = 'Strict', $RollbackTo = $null)
        return [ordered]@{ mode = $Mode; params = [ordered]@{ Level = $Level }; rollbackTo = $RollbackTo }
    }

    function Invoke-Cbt {
        param($Request, [string]$RequestJson)
        return (Invoke-StepEnvelope -Name 'Set-CbtHardening' -Request $Request -RequestJson $RequestJson)
    }

    function Use-CbtHost {
        # A fresh lab host with the given CBT state, bound to the seam; returned so tests see its changes.
        param([string]$Level = 'Relaxed', [bool]$Gpo = $false)
        $machine = New-LabHost -Profile fresh
        $machine.cbt.level = $Level
        $machine.cbt.policyControlled = $Gpo
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

Describe 'Set-CbtHardening.ps1' {
    It 'does every Windows operation through the seam' {
        Get-StepSeamViolation -Name 'Set-CbtHardening' | Should -BeNullOrEmpty
        $commands = (Get-StepScriptCommand -Name 'Set-CbtHardening').Commands
        $commands | Should -Contain 'Get-WinWsmanItem'
        $commands | Should -Contain 'Set-WinWsmanItem'
        $commands | Should -Contain 'Get-WinRegistryValue'
    }

    Context 'plan, apply, verify and rollback on a lab host' {
        It 'plan predicts the level and writes nothing' {
            $machine = Use-CbtHost -Level 'Relaxed'
            $envelope = Invoke-Cbt (New-CbtRequest -Mode plan -Level 'Strict')
            $envelope.ok | Should -BeTrue
            $envelope.compliant | Should -BeFalse
            $envelope.changed | Should -BeTrue
            $envelope.before.level | Should -Be 'Relaxed'
            $envelope.before.policyControlled | Should -BeFalse
            $envelope.after.level | Should -Be 'Strict'
            $envelope.target | Should -Be 'exch01.corp.example'
            $envelope.mode | Should -Be 'plan'
            Get-Writes | Should -BeNullOrEmpty
            $machine.cbt.level | Should -Be 'Relaxed'
        }

        It 'apply writes the level once and reports what it reads back; verify finds it; rollback restores the saved level' {
            $machine = Use-CbtHost -Level 'Relaxed'
            $plan = Invoke-Cbt (New-CbtRequest -Mode plan -Level 'Strict')

            $apply = Invoke-Cbt (New-CbtRequest -Mode apply -Level 'Strict')
            $apply.ok | Should -BeTrue
            $apply.changed | Should -BeTrue
            $apply.after.level | Should -Be 'Strict'
            $writes = Get-Writes
            $writes.Count | Should -Be 1
            $writes[0].Parameters.Path | Should -Be $script:SettingPath
            $writes[0].Parameters.Value | Should -Be 'Strict'
            $machine.cbt.level | Should -Be 'Strict'

            $verify = Invoke-Cbt (New-CbtRequest -Mode plan -Level 'Strict')
            $verify.compliant | Should -BeTrue
            $verify.changed | Should -BeFalse

            $rollback = Invoke-Cbt (New-CbtRequest -Mode rollback -Level 'Strict' -RollbackTo $plan.before)
            $rollback.ok | Should -BeTrue
            $rollback.changed | Should -BeTrue
            $rollback.before.level | Should -Be 'Strict'
            $rollback.after.level | Should -Be 'Relaxed'
            $machine.cbt.level | Should -Be 'Relaxed'
            (Get-Writes).Count | Should -Be 2
        }

        It 'apply on a compliant host writes nothing' {
            $machine = Use-CbtHost -Level 'Strict'
            $envelope = Invoke-Cbt (New-CbtRequest -Mode apply -Level 'Strict')
            $envelope.ok | Should -BeTrue
            $envelope.compliant | Should -BeTrue
            $envelope.changed | Should -BeFalse
            Get-Writes | Should -BeNullOrEmpty
            $machine.cbt.level | Should -Be 'Strict'
        }

        It 'rewrites a level spelled otherwise in the canonical spelling, and can roll back to it' {
            $machine = Use-CbtHost -Level 'strict'
            $plan = Invoke-Cbt (New-CbtRequest -Mode plan -Level 'Strict')
            $plan.changed | Should -BeTrue
            (Invoke-Cbt (New-CbtRequest -Mode apply -Level 'Strict')).after.level | Should -Be 'Strict'
            (Invoke-Cbt (New-CbtRequest -Mode rollback -Level 'Strict' -RollbackTo $plan.before)).ok | Should -BeTrue
            $machine.cbt.level | Should -Be 'strict'
        }

        It 'is compliant when a Group Policy already sets the wanted level' {
            Use-CbtHost -Level 'Strict' -Gpo $true | Out-Null
            $envelope = Invoke-Cbt (New-CbtRequest -Mode apply -Level 'Strict')
            $envelope.ok | Should -BeTrue
            $envelope.compliant | Should -BeTrue
            $envelope.before.policyControlled | Should -BeTrue
            Get-Writes | Should -BeNullOrEmpty
        }

        It 'fails <Mode> with PolicyControlled, naming the policy and the fix, writing nothing, when a Group Policy sets another level' -ForEach @(
            @{ Mode = 'plan'; Want = 'Strict' }
            @{ Mode = 'apply'; Want = 'Strict' }
            @{ Mode = 'rollback'; Want = 'None' }
        ) {
            $machine = Use-CbtHost -Level 'Relaxed' -Gpo $true
            $envelope = Invoke-Cbt (New-CbtRequest -Mode $Mode -Level 'Strict' -RollbackTo ([ordered]@{ level = 'None'; policyControlled = $false }))
            $envelope.ok | Should -BeFalse
            $envelope.error.code | Should -Be 'PolicyControlled'
            $envelope.error.class | Should -Be 'policy'
            $envelope.error.message | Should -BeLike "CbtHardeningLevel is set to 'Relaxed' by the Group Policy 'Windows Remote Management (WinRM) > WinRM Service > Specify channel binding token hardening level'*Set that policy to $Want, or to Not Configured, then retry"
            Get-FailureType -Code $envelope.error.code -Class $envelope.error.class | Should -Be 'PolicyControlled'
            Get-Writes | Should -BeNullOrEmpty
            $machine.cbt.level | Should -Be 'Relaxed'
        }

        It 'sees a Group Policy from <Signal> alone' -ForEach @(
            @{ Signal = 'WinRM reporting the value''s source as GPO'; Source = 'GPO'; Registry = $null }
            @{ Signal = 'the policy key holding CbtHardeningLevel'; Source = $null; Registry = 'Relaxed' }
        ) {
            Use-CbtHost -Level 'Relaxed' | Out-Null
            $source = $Source
            $registry = $Registry
            Set-SeamFake -Name Get-WinWsmanItem -ScriptBlock { param($Path) [pscustomobject]@{ Name = 'CbtHardeningLevel'; Value = 'Relaxed'; SourceOfValue = $source } }.GetNewClosure()
            Set-SeamFake -Name Get-WinRegistryValue -ScriptBlock { param($Key, $Name) if ($Name -eq 'CbtHardeningLevel') { $registry } }.GetNewClosure()
            $envelope = Invoke-Cbt (New-CbtRequest -Mode plan -Level 'Relaxed')
            $envelope.before.policyControlled | Should -BeTrue
            (Invoke-Cbt (New-CbtRequest -Mode apply -Level 'Strict')).error.code | Should -Be 'PolicyControlled'
            Get-Writes | Should -BeNullOrEmpty
        }

        It 'reads the policy where WindowsRemoteManagement.admx writes it' {
            Use-CbtHost | Out-Null
            Invoke-Cbt (New-CbtRequest -Mode plan) | Out-Null
            $read = @(Get-SeamCall -Name Get-WinRegistryValue)
            $read.Count | Should -Be 1
            $read[0].Parameters.Key | Should -Be 'HKEY_LOCAL_MACHINE\SOFTWARE\Policies\Microsoft\Windows\WinRM\Service'
            $read[0].Parameters.Name | Should -Be 'CbtHardeningLevel'
            (Get-SeamCall -Name Get-WinWsmanItem)[0].Parameters.Path | Should -Be $script:SettingPath
        }
    }

    Context 'a rollback never acts without the saved state' {
        It 'refuses rollbackTo <Case> with InvalidInput, before touching the machine' -ForEach @(
            @{ Case = 'missing from the request'; Json = '{"mode":"rollback","params":{"Level":"Strict"}}' }
            @{ Case = 'null'; Json = '{"mode":"rollback","params":{"Level":"Strict"},"rollbackTo":null}' }
            @{ Case = '{}'; Json = '{"mode":"rollback","params":{"Level":"Strict"},"rollbackTo":{}}' }
            @{ Case = 'without policyControlled'; Json = '{"mode":"rollback","params":{"Level":"Strict"},"rollbackTo":{"level":"Relaxed"}}' }
            @{ Case = 'without level'; Json = '{"mode":"rollback","params":{"Level":"Strict"},"rollbackTo":{"policyControlled":false}}' }
            @{ Case = 'with level null'; Json = '{"mode":"rollback","params":{"Level":"Strict"},"rollbackTo":{"level":null,"policyControlled":false}}' }
            @{ Case = 'with level as a one-element array'; Json = '{"mode":"rollback","params":{"Level":"Strict"},"rollbackTo":{"level":["Relaxed"],"policyControlled":false}}' }
            @{ Case = 'as an array of the state'; Json = '{"mode":"rollback","params":{"Level":"Strict"},"rollbackTo":[{"level":"Relaxed","policyControlled":false}]}' }
            @{ Case = 'as an empty array'; Json = '{"mode":"rollback","params":{"Level":"Strict"},"rollbackTo":[]}' }
            @{ Case = 'as the bare level'; Json = '{"mode":"rollback","params":{"Level":"Strict"},"rollbackTo":"Relaxed"}' }
            @{ Case = 'with an empty level (nothing WinRM could take back)'; Json = '{"mode":"rollback","params":{"Level":"Strict"},"rollbackTo":{"level":"","policyControlled":false}}' }
            @{ Case = 'with a zero-width space in the level'; Json = '{"mode":"rollback","params":{"Level":"Strict"},"rollbackTo":{"level":"Relaxed\u200b","policyControlled":false}}' }
            @{ Case = 'with a level WinRM does not have'; Json = '{"mode":"rollback","params":{"Level":"Strict"},"rollbackTo":{"level":"Off","policyControlled":false}}' }
        ) {
            $machine = Use-CbtHost -Level 'Strict'
            $envelope = Invoke-Cbt -RequestJson $Json
            $envelope.ok | Should -BeFalse
            $envelope.mode | Should -Be 'rollback'
            $envelope.error.code | Should -Be 'InvalidInput'
            Get-FailureType -Code $envelope.error.code -Class $envelope.error.class | Should -Be 'InvalidInput'
            Get-SeamCall -Name Get-WinWsmanItem | Should -BeNullOrEmpty
            Get-Writes | Should -BeNullOrEmpty
            $machine.cbt.level | Should -Be 'Strict'
        }

        It 'refuses a rollback by hand without -RollbackToJson' {
            Use-CbtHost -Level 'Strict' | Out-Null
            $path = Save-StepScript -Name 'Set-CbtHardening' -Path (Join-Path -Path $TestDrive -ChildPath 'Set-CbtHardening.ps1') -StrictMode $true
            $envelope = ConvertFrom-StepEnvelope -Script 'Set-CbtHardening' -Output @(& $path -Mode rollback)
            $envelope.error.code | Should -Be 'InvalidInput'
            $bad = ConvertFrom-StepEnvelope -Script 'Set-CbtHardening' -Output @(& $path -Mode rollback -RollbackToJson '[{"level":"Relaxed","policyControlled":false}]')
            $bad.error.code | Should -Be 'InvalidInput'
            $good = ConvertFrom-StepEnvelope -Script 'Set-CbtHardening' -Output @(& $path -Mode rollback -RollbackToJson '{"level":"Relaxed","policyControlled":false}')
            $good.ok | Should -BeTrue
            $good.after.level | Should -Be 'Relaxed'
        }
    }

    Context 'the script''s own validation refuses every hostile value' {
        It 'refuses Level <Shown> in <Mode> (from test/powershell-injection.test.ts)' -ForEach @(
            foreach ($mode in 'plan', 'apply', 'rollback') {
                # Discovery runs before BeforeAll: the values come from node here too (cached for the run).
                Import-Module -Name (Join-Path -Path $PSScriptRoot -ChildPath '../../test/powershell/SeamTestKit.psm1')
                foreach ($hostile in Get-HostileValue) {
                    foreach ($value in @($hostile, "Relaxed$hostile", "${hostile}Relaxed")) {
                        @{ Mode = $mode; Value = $value; Shown = (ConvertTo-Json -InputObject $value -Compress) }
                    }
                }
            }
        ) {
            $machine = Use-CbtHost -Level 'Relaxed'
            $envelope = Invoke-Cbt (New-CbtRequest -Mode $Mode -Level $Value -RollbackTo ([ordered]@{ level = 'None'; policyControlled = $false }))
            $envelope.ok | Should -BeFalse
            $envelope.error.code | Should -Be 'InvalidInput'
            # Refused by -Level's ValidateSet when the request value is assigned, or, for what the culture
            # comparison of ValidateSet ignores (NUL), by the request's and the script's ordinal checks.
            $envelope.error.exceptionType | Should -BeIn @('System.Management.Automation.ValidationMetadataException', 'System.InvalidOperationException')
            Get-SeamCall -Name Get-WinWsmanItem | Should -BeNullOrEmpty
            Get-Writes | Should -BeNullOrEmpty
            $machine.cbt.level | Should -Be 'Relaxed'
        }

        It 'refuses rollbackTo.level <Shown>' -ForEach @(
            Import-Module -Name (Join-Path -Path $PSScriptRoot -ChildPath '../../test/powershell/SeamTestKit.psm1')
            foreach ($hostile in Get-HostileValue) {
                foreach ($value in @($hostile, "Relaxed$hostile", "${hostile}Relaxed")) { @{ Value = $value; Shown = (ConvertTo-Json -InputObject $value -Compress) } }
            }
        ) {
            $machine = Use-CbtHost -Level 'Strict'
            $envelope = Invoke-Cbt (New-CbtRequest -Mode rollback -Level 'Strict' -RollbackTo ([ordered]@{ level = $Value; policyControlled = $false }))
            $envelope.error.code | Should -Be 'InvalidInput'
            Get-Writes | Should -BeNullOrEmpty
            $machine.cbt.level | Should -Be 'Strict'
        }

        It 'refuses Level <Case>' -ForEach @(
            @{ Case = 'in another spelling (the contract''s enum is exact)'; Level = 'strict' }
            @{ Case = 'with a trailing space'; Level = 'Strict ' }
            @{ Case = 'with a zero-width space (ValidateSet and -ceq ignore it)'; Level = "Strict$([char]0x200B)" }
            @{ Case = 'with a soft hyphen (ValidateSet and -ceq ignore it)'; Level = "Str$([char]0x00AD)ict" }
            @{ Case = 'with NUL (ValidateSet and -ceq ignore it)'; Level = "Strict$([char]0)" }
            @{ Case = 'empty'; Level = '' }
            @{ Case = 'null'; Level = $null }
            @{ Case = 'as a one-element array'; Level = , @('Strict') }
            @{ Case = 'as an empty array'; Level = , @() }
            @{ Case = 'as an array holding null'; Level = , @($null) }
            @{ Case = 'as a number'; Level = 1 }
            @{ Case = 'as a boolean'; Level = $true }
            @{ Case = 'as an object'; Level = @{ Level = 'Strict' } }
        ) {
            Use-CbtHost -Level 'Relaxed' | Out-Null
            $envelope = Invoke-Cbt (New-CbtRequest -Mode apply -Level $Level)
            $envelope.ok | Should -BeFalse
            $envelope.error.code | Should -Be 'InvalidInput'
            Get-Writes | Should -BeNullOrEmpty
        }

        It 'refuses a request whose <Case>' -ForEach @(
            @{ Case = 'params are missing'; Json = '{"mode":"apply","rollbackTo":null}' }
            @{ Case = 'params are null'; Json = '{"mode":"apply","params":null,"rollbackTo":null}' }
            @{ Case = 'params are an empty array'; Json = '{"mode":"apply","params":[],"rollbackTo":null}' }
            @{ Case = 'params are a one-element array'; Json = '{"mode":"apply","params":[{"Level":"Strict"}],"rollbackTo":null}' }
            @{ Case = 'params hold a member the step does not take'; Json = '{"mode":"apply","params":{"Level":"Strict","Force":true},"rollbackTo":null}' }
            @{ Case = 'mode is missing'; Json = '{"params":{"Level":"Strict"},"rollbackTo":null}' }
            @{ Case = 'mode is unknown'; Json = '{"mode":"destroy","params":{"Level":"Strict"},"rollbackTo":null}' }
            @{ Case = 'mode has a zero-width space'; Json = '{"mode":"apply\u200b","params":{"Level":"Strict"},"rollbackTo":null}' }
            @{ Case = 'mode is an array'; Json = '{"mode":["apply"],"params":{"Level":"Strict"},"rollbackTo":null}' }
            @{ Case = 'document is an array'; Json = '[{"mode":"apply","params":{"Level":"Strict"},"rollbackTo":null}]' }
        ) {
            Use-CbtHost -Level 'Relaxed' | Out-Null
            $envelope = Invoke-Cbt -RequestJson $Json
            $envelope.ok | Should -BeFalse
            $envelope.error.code | Should -Be 'InvalidInput'
            Get-Writes | Should -BeNullOrEmpty
        }

        It 'refuses a hostile -Level given by hand at parameter binding, before any of its code runs' {
            $path = Save-StepScript -Name 'Set-CbtHardening' -Path (Join-Path -Path $TestDrive -ChildPath 'Set-CbtHardening.ps1')
            $thrown = $null
            try { & $path -Mode apply -Level "Relaxed'; Remove-Item C:\ -Recurse; '" } catch { $thrown = $_ }
            $thrown.FullyQualifiedErrorId | Should -BeLike 'ParameterArgumentValidationError*'
            Get-Writes | Should -BeNullOrEmpty
        }
    }

    Context 'errors as Windows produces them' {
        It 'a GPO applied between the check and the write: the WSMan provider''s policy text -> PolicyControlled' {
            Use-CbtHost -Level 'Relaxed' | Out-Null
            Set-SeamFake -Name Set-WinWsmanItem -ScriptBlock { param($Path, $Value) throw (New-WsmanProviderError -Command SetItem -Message $WinText.CbtPolicy) }
            $envelope = Invoke-Cbt (New-CbtRequest -Mode apply -Level 'Strict')
            $envelope.ok | Should -BeFalse
            $envelope.changed | Should -BeFalse
            $envelope.error.code | Should -Be 'PolicyControlled'
            $envelope.error.fqid | Should -Be 'System.InvalidOperationException,Microsoft.PowerShell.Commands.SetItemCommand'
            $envelope.error.message | Should -Be $WinText.CbtPolicy
            Get-FailureType -Code $envelope.error.code -Class $envelope.error.class | Should -Be 'PolicyControlled'
        }

        It '<Case> -> <Type>' -ForEach @(
            @{ Case = 'the write refused by WinRM (Access is denied, fault Code 5)'; Seam = 'Set-WinWsmanItem'; Type = 'AccessDenied'; Code = '5'
                Throw = { New-WsmanProviderError -Command SetItem -Message $WinText.AccessDenied } }
            @{ Case = 'the read refused: not elevated'; Seam = 'Get-WinWsmanItem'; Type = 'AccessDenied'; Code = '5'
                Throw = { New-WsmanProviderError -Command GetItem -Message $WinText.AccessDeniedElevation } }
            @{ Case = 'the policy key unreadable (not taken for "no policy")'; Seam = 'Get-WinRegistryValue'; Type = 'AccessDenied'; Code = '5'
                Throw = { New-MethodInvocationError -Method GetValue -ArgumentCount 3 -InnerException (New-Object -TypeName System.Security.SecurityException -ArgumentList $WinText.RegistryAccessDenied) } }
            @{ Case = 'WinRM answering a WSMan fault 0x80338012 to the read'; Seam = 'Get-WinWsmanItem'; Type = 'WinRMUnavailable'; Code = '0x80338012'
                Throw = { New-WsmanFaultError -Code 2150858770 -Message $WinText.WinRMCannotConnect -Command 'Microsoft.PowerShell.Commands.GetItemCommand' } }
        ) {
            Use-CbtHost -Level 'Relaxed' | Out-Null
            $record = & $Throw
            Set-SeamFake -Name $Seam -ScriptBlock { throw $record }.GetNewClosure()
            $envelope = Invoke-Cbt (New-CbtRequest -Mode apply -Level 'Strict')
            $envelope.ok | Should -BeFalse
            $envelope.error.code | Should -Be $Code
            Get-FailureType -Code $envelope.error.code -Class $envelope.error.class | Should -Be $Type
        }
    }

    It 'prints only envelopes that match domain/envelope.ts and the step''s state schema (zod, via node)' {
        Assert-StepEnvelopeContract | Should -BeGreaterThan 50
    }
}
