# Pester 5 tests of Set-MonosyncFirewallRule.ps1 in real pwsh; nothing here needs Windows. Run by
# `npm run test:ps` and `npm test` (scripts/test-ps.ts).
#
# The script runs exactly as the runner sends it, always under Set-StrictMode -Version Latest, with every
# Windows operation replaced through the seam (test/powershell/SeamTestKit.psm1): LabSeam binds the seam to
# a lab host's firewall, and single seam functions are replaced by fakes that return what the NetSecurity
# cmdlets really return (one local port as a scalar string, 'Any', keywords) or throw the error records they
# really throw (New-NetSecurityError). The last test checks every envelope printed here against the zod
# schemas the activities use.

BeforeAll {
    Import-Module -Name (Join-Path -Path $PSScriptRoot -ChildPath '../../test/powershell/SeamTestKit.psm1') -Force
    Import-Module -Name (Join-Path -Path $PSScriptRoot -ChildPath '../../test/powershell/LabSeam.psm1') -Force
    $script:Rule = 'Monosync-WinRM-In'
    $script:Monosync = @('10.0.0.10', '10.0.0.11')

    function New-FwRequest {
        param([string]$Mode = 'plan', $Ports = @(5985, 5986), $RemoteAddresses = $script:Monosync, $RollbackTo = $null, $RuleName = 'Monosync-WinRM-In', $Profiles = @('Domain'))
        return [ordered]@{ mode = $Mode; params = [ordered]@{ RuleName = $RuleName; Ports = $Ports; RemoteAddresses = $RemoteAddresses; Profiles = $Profiles }; rollbackTo = $RollbackTo }
    }

    function New-FwJson {
        # A request as JSON text, each part given as JSON (so one-element, empty and null collections are
        # exactly what the test says, with no PowerShell array unrolling on the way).
        param([string]$Mode = 'apply', [string]$Ports = '[5985,5986]', [string]$RemoteAddresses = '["10.0.0.10","10.0.0.11"]', [string]$RollbackTo = 'null', [string]$RuleName = '"Monosync-WinRM-In"', [string]$Profiles = '["Domain"]')
        return ('{{"mode":"{0}","params":{{"RuleName":{1},"Ports":{2},"RemoteAddresses":{3},"Profiles":{5}}},"rollbackTo":{4}}}' -f $Mode, $RuleName, $Ports, $RemoteAddresses, $RollbackTo, $Profiles)
    }

    function Invoke-Fw {
        param($Request, [string]$RequestJson)
        return (Invoke-StepEnvelope -Name 'Set-MonosyncFirewallRule' -Request $Request -RequestJson $RequestJson)
    }

    function New-FwRule {
        param([bool]$Enabled = $true, [object[]]$Ports = @(5985, 5986), [object[]]$Addresses = $script:Monosync, [string]$Name = 'Monosync-WinRM-In', [object[]]$Profiles = @('Domain'))
        $rule = [pscustomobject]@{ name = $Name; enabled = $Enabled; localPorts = [object[]]$Ports; remoteAddresses = [object[]]$Addresses }
        # No profiles: Profile Any, as Windows ships its own rules.
        if ($Profiles.Count -gt 0) { $rule | Add-Member -MemberType NoteProperty -Name profiles -Value $Profiles }
        return $rule
    }

    function Use-FwHost {
        # A fresh lab host (it has Windows' WINRM-HTTP-In-TCP rule) plus the given rules, bound to the seam.
        param([object[]]$Rules = @(), [bool]$FirewallOn = $true, [bool]$LocalRulesApply = $true)
        $machine = New-LabHost -Profile fresh
        $machine.firewall.enabled = $FirewallOn
        $machine.firewall.localRulesApply = $LocalRulesApply
        $machine.firewall.rules = [object[]](@($machine.firewall.rules) + $Rules)
        Use-LabSeam -Machine $machine
        return $machine
    }

    function Get-MonosyncRule {
        param($Machine)
        return , @($Machine.firewall.rules | Where-Object { $_.name -eq 'Monosync-WinRM-In' })
    }

    function Get-Writes {
        return , @(Get-SeamCall | Where-Object { @('New-WinFirewallRule', 'Set-WinFirewallRule', 'Remove-WinFirewallRule') -contains $_.Name })
    }

    function Get-Reads {
        return , @(Get-SeamCall | Where-Object { $_.Name -like 'Get-WinFirewall*' })
    }
}

AfterAll {
    Remove-SeamFake
}

Describe 'Set-MonosyncFirewallRule.ps1' {
    It 'does every Windows operation through the seam' {
        Get-StepSeamViolation -Name 'Set-MonosyncFirewallRule' | Should -BeNullOrEmpty
        $commands = (Get-StepScriptCommand -Name 'Set-MonosyncFirewallRule').Commands
        foreach ($seam in 'Get-WinFirewallRule', 'Get-WinFirewallPortFilter', 'Get-WinFirewallAddressFilter', 'Get-WinFirewallProfile', 'New-WinFirewallRule', 'Set-WinFirewallRule', 'Remove-WinFirewallRule') {
            $commands | Should -Contain $seam
        }
    }

    It 'has every NetSecurity call of the seam stop on error (CDXML functions ignore the caller''s $ErrorActionPreference)' {
        $text = [System.IO.File]::ReadAllText((Join-Path -Path $PSScriptRoot -ChildPath '../../powershell/MonosyncCommon.ps1'))
        $tokens = $null
        $errors = $null
        $ast = [System.Management.Automation.Language.Parser]::ParseInput($text, [ref]$tokens, [ref]$errors)
        $calls = @($ast.FindAll({ param($node) $node -is [System.Management.Automation.Language.CommandAst] -and [string]$node.GetCommandName() -like '*-NetFirewall*' }, $true))
        $calls.Count | Should -BeGreaterOrEqual 7
        foreach ($call in $calls) {
            $stop = $false
            for ($i = 0; $i -lt $call.CommandElements.Count - 1; $i++) {
                $element = $call.CommandElements[$i]
                if ($element -is [System.Management.Automation.Language.CommandParameterAst] -and $element.ParameterName -eq 'ErrorAction' -and [string]$call.CommandElements[$i + 1].Extent.Text -eq 'Stop') { $stop = $true }
            }
            $stop | Should -BeTrue -Because "$($call.Extent.Text) must pass -ErrorAction Stop"
        }
    }

    Context 'plan, apply, verify and rollback on a lab host' {
        It 'creates the rule where there is none, and a rollback removes it again' {
            $machine = Use-FwHost
            $plan = Invoke-Fw (New-FwRequest -Mode plan)
            $plan.ok | Should -BeTrue
            $plan.compliant | Should -BeFalse
            $plan.changed | Should -BeTrue
            $plan.before.rule | Should -BeNullOrEmpty
            $plan.after.rule.name | Should -Be $script:Rule
            $plan.after.rule.localPorts | Should -Be @(5985, 5986)
            $plan.after.rule.remoteAddresses | Should -Be $script:Monosync
            $plan.target | Should -Be 'exch01.corp.example'
            Get-Writes | Should -BeNullOrEmpty

            $apply = Invoke-Fw (New-FwRequest -Mode apply)
            $apply.ok | Should -BeTrue
            $apply.changed | Should -BeTrue
            $apply.after.rule.enabled | Should -BeTrue
            $writes = Get-Writes
            $writes.Count | Should -Be 1
            $writes[0].Name | Should -Be 'New-WinFirewallRule'
            $new = $writes[0].Parameters
            $new.Name | Should -Be $script:Rule
            $new.Direction | Should -Be 'Inbound'
            $new.Action | Should -Be 'Allow'
            $new.Protocol | Should -Be 'TCP'
            $new.FirewallProfile | Should -Be 'Domain'
            $new.Enabled | Should -Be 'True'
            $new.LocalPort | Should -Be @('5985', '5986')
            $new.RemoteAddress | Should -Be $script:Monosync
            (Get-MonosyncRule $machine).Count | Should -Be 1

            $verify = Invoke-Fw (New-FwRequest -Mode plan)
            $verify.compliant | Should -BeTrue
            $verify.changed | Should -BeFalse

            $rollback = Invoke-Fw (New-FwRequest -Mode rollback -RollbackTo $plan.before)
            $rollback.ok | Should -BeTrue
            $rollback.changed | Should -BeTrue
            $rollback.after.rule | Should -BeNullOrEmpty
            (Get-Writes)[-1].Name | Should -Be 'Remove-WinFirewallRule'
            Get-MonosyncRule $machine | Should -BeNullOrEmpty
            @($machine.firewall.rules).Count | Should -Be 1 -Because 'Windows'' own WINRM-HTTP-In-TCP rule stays'
        }

        It 'narrows a rule open to Any in place, and a rollback opens it again' {
            $machine = Use-FwHost -Rules @(New-FwRule -Ports @(5986) -Addresses @('Any'))
            $plan = Invoke-Fw (New-FwRequest -Mode plan)
            $plan.before.rule.remoteAddresses | Should -Be @('Any')
            $apply = Invoke-Fw (New-FwRequest -Mode apply)
            $apply.changed | Should -BeTrue
            $writes = Get-Writes
            $writes.Count | Should -Be 1
            $writes[0].Name | Should -Be 'Set-WinFirewallRule'
            (Get-MonosyncRule $machine)[0].remoteAddresses | Should -Be $script:Monosync
            (Get-MonosyncRule $machine)[0].localPorts | Should -Be @(5985, 5986)
            $rollback = Invoke-Fw (New-FwRequest -Mode rollback -RollbackTo $plan.before)
            $rollback.changed | Should -BeTrue
            (Get-MonosyncRule $machine)[0].remoteAddresses | Should -Be @('Any')
            (Get-MonosyncRule $machine)[0].localPorts | Should -Be @(5986)
        }

        It 'enables a disabled rule, and a rollback disables it again' {
            $machine = Use-FwHost -Rules @(New-FwRule -Enabled $false)
            $plan = Invoke-Fw (New-FwRequest -Mode plan)
            $plan.before.rule.enabled | Should -BeFalse
            $plan.changed | Should -BeTrue
            (Invoke-Fw (New-FwRequest -Mode apply)).after.rule.enabled | Should -BeTrue
            (Get-Writes)[0].Parameters.Enabled | Should -Be 'True'
            (Invoke-Fw (New-FwRequest -Mode rollback -RollbackTo $plan.before)).after.rule.enabled | Should -BeFalse
            (Get-Writes)[-1].Parameters.Enabled | Should -Be 'False'
            (Get-MonosyncRule $machine)[0].enabled | Should -BeFalse
        }

        It 'is compliant with <Case>, writing nothing' -ForEach @(
            @{ Case = 'the same ports and addresses'; Ports = @(5985, 5986); Addresses = @('10.0.0.10', '10.0.0.11') }
            @{ Case = 'the ports and addresses in another order'; Ports = @(5986, 5985); Addresses = @('10.0.0.11', '10.0.0.10') }
        ) {
            $machine = Use-FwHost -Rules @(New-FwRule -Ports $Ports -Addresses $Addresses)
            $envelope = Invoke-Fw (New-FwRequest -Mode apply)
            $envelope.ok | Should -BeTrue
            $envelope.compliant | Should -BeTrue
            $envelope.changed | Should -BeFalse
            $envelope.before.rule.localPorts | Should -Be @(5985, 5986) -Because 'the state reports the ports sorted'
            Get-Writes | Should -BeNullOrEmpty
        }

        It 'writes <Ports> and <Addresses> (asked as <AskPorts>, <AskAddresses>) without duplicates' -ForEach @(
            @{ AskPorts = @(5986); AskAddresses = @('10.0.0.5'); Ports = @(5986); Addresses = @('10.0.0.5') }
            @{ AskPorts = @(5986, 5985, 5986); AskAddresses = @('10.0.0.5', '10.0.0.5'); Ports = @(5985, 5986); Addresses = @('10.0.0.5') }
            @{ AskPorts = @(5985); AskAddresses = @('FE80::1', 'fe80::1', '10.0.0.5'); Ports = @(5985); Addresses = @('FE80::1', '10.0.0.5') }
            @{ AskPorts = @(5986); AskAddresses = @('Any'); Ports = @(5986); Addresses = @('Any') }
        ) {
            $machine = Use-FwHost
            $plan = Invoke-Fw (New-FwRequest -Mode plan -Ports $AskPorts -RemoteAddresses $AskAddresses)
            $plan.after.rule.localPorts | Should -Be $Ports
            $plan.after.rule.remoteAddresses | Should -Be $Addresses
            $apply = Invoke-Fw (New-FwRequest -Mode apply -Ports $AskPorts -RemoteAddresses $AskAddresses)
            $apply.after.rule.localPorts | Should -Be $Ports
            $apply.after.rule.remoteAddresses | Should -Be $Addresses
            (Get-Writes)[0].Parameters.LocalPort | Should -Be ([string[]]$Ports)
            (Get-MonosyncRule $machine)[0].remoteAddresses | Should -Be $Addresses
            (Invoke-Fw (New-FwRequest -Mode plan -Ports $AskPorts -RemoteAddresses $AskAddresses)).compliant | Should -BeTrue
        }

        It 'keeps one-element lists arrays in the envelope (not unrolled to scalars)' {
            Use-FwHost -Rules @(New-FwRule -Ports @(5986) -Addresses @('10.0.0.5')) | Out-Null
            $output = @(Invoke-StepScript -Name 'Set-MonosyncFirewallRule' -Request (New-FwRequest -Mode plan -Ports @(5986) -RemoteAddresses @('10.0.0.5')))
            $output.Count | Should -Be 1
            $output[0].Contains('"before":{"rule":{"name":"Monosync-WinRM-In","enabled":true,"localPorts":[5986],"remoteAddresses":["10.0.0.5"],"profiles":["Domain"]},') | Should -BeTrue
            $output[0].Contains('"after":{"rule":{"name":"Monosync-WinRM-In","enabled":true,"localPorts":[5986],"remoteAddresses":["10.0.0.5"],"profiles":["Domain"]},') | Should -BeTrue
            ConvertFrom-StepEnvelope -Script 'Set-MonosyncFirewallRule' -Output $output | Out-Null
        }

        It 'reads what the NetSecurity cmdlets return: <Case>' -ForEach @(
            @{ Case = 'one port as a scalar string, one address as a scalar string'; LocalPort = '5986'; RemoteAddress = '10.0.0.5'; Ports = @(5986); Addresses = @('10.0.0.5'); Warn = 0 }
            @{ Case = 'LocalPort Any (no ports in the state)'; LocalPort = 'Any'; RemoteAddress = 'Any'; Ports = @(); Addresses = @('Any'); Warn = 0 }
            @{ Case = 'a port range and the RPC keyword (left out, with a warning each)'; LocalPort = [string[]]@('5986', '5000-5010', 'RPC'); RemoteAddress = [string[]]@('10.0.0.0/255.255.255.0', 'LocalSubnet'); Ports = @(5986); Addresses = @('10.0.0.0/255.255.255.0', 'LocalSubnet'); Warn = 2 }
            @{ Case = 'no port filter values at all'; LocalPort = $null; RemoteAddress = [string[]]@('10.0.0.5'); Ports = @(); Addresses = @('10.0.0.5'); Warn = 0 }
        ) {
            Use-FwHost -Rules @(New-FwRule) | Out-Null
            $localPort = $LocalPort
            $remoteAddress = $RemoteAddress
            Set-SeamFake -Name Get-WinFirewallPortFilter -ScriptBlock { param($Rule) [pscustomobject]@{ Protocol = 'TCP'; LocalPort = $localPort } }.GetNewClosure()
            Set-SeamFake -Name Get-WinFirewallAddressFilter -ScriptBlock { param($Rule) [pscustomobject]@{ RemoteAddress = $remoteAddress } }.GetNewClosure()
            $output = Invoke-StepScript -Name 'Set-MonosyncFirewallRule' -Request (New-FwRequest -Mode plan)
            $envelope = ConvertFrom-StepEnvelope -Script 'Set-MonosyncFirewallRule' -Output $output
            $envelope.ok | Should -BeTrue
            , $envelope.before.rule.localPorts | Should -BeOfType [System.Array]
            , $envelope.before.rule.remoteAddresses | Should -BeOfType [System.Array]
            @($envelope.before.rule.localPorts) | Should -Be $Ports
            @($envelope.before.rule.remoteAddresses) | Should -Be $Addresses
            @($envelope.warnings | Where-Object { $_ -like '*not one port number*' }).Count | Should -Be $Warn
            $envelope.changed | Should -BeTrue
        }

        It 'makes a rule of our name that is <Case> an inbound TCP allow rule again' -ForEach @(
            @{ Case = 'outbound, not'; Direction = 'Outbound'; Action = 'Allow'; Protocol = 'TCP' }
            @{ Case = 'a block rule, not'; Direction = 'Inbound'; Action = 'Block'; Protocol = 'TCP' }
            @{ Case = 'for UDP, not'; Direction = 'Inbound'; Action = 'Allow'; Protocol = 'UDP' }
        ) {
            Use-FwHost -Rules @(New-FwRule) | Out-Null
            $direction = $Direction
            $action = $Action
            $protocol = $Protocol
            Set-SeamFake -Name Get-WinFirewallRule -ScriptBlock { param($Name) [pscustomobject]@{ Name = 'Monosync-WinRM-In'; DisplayName = 'Monosync-WinRM-In'; Enabled = 'True'; Direction = $direction; Action = $action; Profile = 'Any' } }.GetNewClosure()
            Set-SeamFake -Name Get-WinFirewallPortFilter -ScriptBlock { param($Rule) [pscustomobject]@{ Protocol = $protocol; LocalPort = [string[]]@('5985', '5986') } }.GetNewClosure()
            $plan = Invoke-Fw (New-FwRequest -Mode plan)
            $plan.compliant | Should -BeFalse -Because 'the ports and addresses match, but the rule does not admit WinRM'
            $plan.changed | Should -BeTrue
            @($plan.warnings | Where-Object { $_ -like '*not an inbound TCP allow rule*' }).Count | Should -Be 1
            $apply = Invoke-Fw (New-FwRequest -Mode apply)
            $apply.ok | Should -BeTrue
            $set = Get-Writes
            $set.Count | Should -Be 1
            $set[0].Name | Should -Be 'Set-WinFirewallRule'
            $set[0].Parameters.Direction | Should -Be 'Inbound'
            $set[0].Parameters.Action | Should -Be 'Allow'
            $set[0].Parameters.Protocol | Should -Be 'TCP'
        }

        It 'creates the rule for the Domain profile only by default, and narrows a rule for every profile' {
            $machine = Use-FwHost
            $apply = Invoke-Fw (New-FwRequest -Mode apply)
            $apply.after.rule.profiles | Should -Be @('Domain')
            (Get-Writes)[0].Parameters.FirewallProfile | Should -Be 'Domain'
            $machine = Use-FwHost -Rules @(New-FwRule -Profiles @())
            $plan = Invoke-Fw (New-FwRequest -Mode plan)
            $plan.before.rule.profiles | Should -Be @('Any')
            $plan.changed | Should -BeTrue
            $apply = Invoke-Fw (New-FwRequest -Mode apply)
            (Get-Writes)[0].Name | Should -Be 'Set-WinFirewallRule'
            (Get-Writes)[0].Parameters.FirewallProfile | Should -Be 'Domain'
            (Get-MonosyncRule $machine)[0].profiles | Should -Be @('Domain')
            $rollback = Invoke-Fw (New-FwRequest -Mode rollback -RollbackTo $plan.before)
            $rollback.after.rule.profiles | Should -Be @('Any')
        }

        It 'writes the profiles asked for in Windows'' order, and refuses <Case>' -ForEach @(
            @{ Case = 'no profile'; Profiles = '[]' }
            @{ Case = 'Any'; Profiles = '["Any"]' }
            @{ Case = 'a profile in lower case'; Profiles = '["domain"]' }
            @{ Case = 'a profile Windows has not'; Profiles = '["Home"]' }
            @{ Case = 'a bare string'; Profiles = '"Domain"' }
        ) {
            $machine = Use-FwHost
            (Invoke-Fw -RequestJson (New-FwJson -Profiles '["Public","Domain","Public"]')).after.rule.profiles | Should -Be @('Domain', 'Public')
            Clear-SeamCall
            $envelope = Invoke-Fw -RequestJson (New-FwJson -Profiles $Profiles)
            $envelope.error.code | Should -Be 'InvalidInput'
            Get-Writes | Should -BeNullOrEmpty
            (Get-MonosyncRule $machine)[0].profiles | Should -Be @('Domain', 'Public')
        }

        It 'reports Windows'' own WINRM-HTTP-In-TCP and its wider scope, and never changes it' {
            $machine = Use-FwHost
            $apply = Invoke-Fw (New-FwRequest -Mode apply)
            $apply.before.builtInHttpRule.remoteAddresses | Should -Be @('Any')
            $apply.before.builtInHttpRule.profiles | Should -Be @('Domain', 'Private')
            $apply.before.builtInHttpRule.enabled | Should -BeTrue
            @($apply.warnings | Where-Object { $_ -like "Windows' own rule WINRM-HTTP-In-TCP admits WinRM over HTTP (5985) from Any on the Domain, Private profile(s)*" }).Count | Should -Be 1
            foreach ($write in (Get-Writes)) { $write.Parameters.Name | Should -Be 'Monosync-WinRM-In' }
            $builtIn = @($machine.firewall.rules | Where-Object { $_.name -eq 'WINRM-HTTP-In-TCP' })[0]
            $builtIn.remoteAddresses | Should -Be @('Any')
            $machine.firewall.rules = [object[]]@(@($machine.firewall.rules) | Where-Object { $_.name -ne 'WINRM-HTTP-In-TCP' })
            $plan = Invoke-Fw (New-FwRequest -Mode plan)
            $plan.before.builtInHttpRule | Should -BeNullOrEmpty
            @($plan.warnings | Where-Object { $_ -like '*WINRM-HTTP-In-TCP*' }).Count | Should -Be 0
        }

        It 'warns, and still writes the rule, when <Case>' -ForEach @(
            @{ Case = 'Windows Firewall is off'; On = $false; Local = $true; Like = 'Windows Firewall is off on the * profile*' }
            @{ Case = 'a GPO sets AllowLocalFirewallRules False'; On = $true; Local = $false; Like = 'Group Policy ignores local firewall rules on the * profile*' }
        ) {
            $machine = Use-FwHost -FirewallOn $On -LocalRulesApply $Local
            $envelope = Invoke-Fw (New-FwRequest -Mode apply)
            $envelope.ok | Should -BeTrue
            $envelope.changed | Should -BeTrue
            @($envelope.warnings | Where-Object { $_ -like $Like }).Count | Should -Be 3 -Because 'one per profile: Domain, Private, Public'
            (Get-MonosyncRule $machine).Count | Should -Be 1
        }

        It 'rolls back to a rule open on every port (localPorts []) with LocalPort Any' {
            $machine = Use-FwHost -Rules @(New-FwRule)
            $state = [ordered]@{ rule = [ordered]@{ name = 'Monosync-WinRM-In'; enabled = $true; localPorts = @(); remoteAddresses = @('Any'); profiles = @('Any') } }
            $rollback = Invoke-Fw (New-FwRequest -Mode rollback -RollbackTo $state)
            $rollback.ok | Should -BeTrue
            $rollback.changed | Should -BeTrue
            (Get-Writes)[0].Parameters.LocalPort | Should -Be @('Any')
            (Get-Writes)[0].Parameters.FirewallProfile | Should -Be 'Any'
            @((Get-MonosyncRule $machine)[0].localPorts).Count | Should -Be 0
            $rollback.after.rule.profiles | Should -Be @('Any')
            @($rollback.after.rule.localPorts).Count | Should -Be 0
        }

        It 'rolls back a rule removed meanwhile to nothing, and recreates a removed one' {
            $machine = Use-FwHost
            $none = Invoke-Fw (New-FwRequest -Mode rollback -RollbackTo ([ordered]@{ rule = $null }))
            $none.ok | Should -BeTrue
            $none.changed | Should -BeFalse
            $none.compliant | Should -BeTrue
            Get-Writes | Should -BeNullOrEmpty
            $state = [ordered]@{ rule = [ordered]@{ name = 'Monosync-WinRM-In'; enabled = $false; localPorts = @(5986); remoteAddresses = @('10.0.0.5'); profiles = @('Domain', 'Private') } }
            $recreate = Invoke-Fw (New-FwRequest -Mode rollback -RollbackTo $state)
            $recreate.changed | Should -BeTrue
            (Get-Writes)[0].Name | Should -Be 'New-WinFirewallRule'
            (Get-Writes)[0].Parameters.FirewallProfile | Should -Be 'Domain, Private'
            (Get-MonosyncRule $machine)[0].enabled | Should -BeFalse
        }

        It 'treats a rule removed between its read and the rollback''s Remove as removed' {
            Use-FwHost -Rules @(New-FwRule) | Out-Null
            Set-SeamFake -Name Remove-WinFirewallRule -ScriptBlock { param($Name) throw (New-NetSecurityError -Kind NotFound -Command 'Remove-NetFirewallRule') }
            $envelope = Invoke-Fw (New-FwRequest -Mode rollback -RollbackTo ([ordered]@{ rule = $null }))
            $envelope.ok | Should -BeTrue
            $envelope.changed | Should -BeTrue
        }
    }

    Context 'a rollback never acts without the saved state' {
        It 'refuses rollbackTo <Case> with InvalidInput, leaving the rule alone' -ForEach @(
            @{ Case = 'missing from the request'; RollbackTo = $null; Json = '{"mode":"rollback","params":{"RuleName":"Monosync-WinRM-In","Ports":[5986],"RemoteAddresses":["10.0.0.5"]}}' }
            @{ Case = 'null (which once removed the rule)'; RollbackTo = 'null' }
            @{ Case = '{}'; RollbackTo = '{}' }
            @{ Case = 'an array of the state'; RollbackTo = '[{"rule":null}]' }
            @{ Case = 'a string'; RollbackTo = '"{\"rule\":null}"' }
            @{ Case = 'with rule an array'; RollbackTo = '{"rule":[{"name":"Monosync-WinRM-In","enabled":true,"localPorts":[5986],"remoteAddresses":["10.0.0.5"],"profiles":["Domain"]}]}' }
            @{ Case = 'with rule {}'; RollbackTo = '{"rule":{}}' }
            @{ Case = 'without enabled'; RollbackTo = '{"rule":{"name":"Monosync-WinRM-In","localPorts":[5986],"remoteAddresses":["10.0.0.5"],"profiles":["Domain"]}}' }
            @{ Case = 'with enabled "false" (a string)'; RollbackTo = '{"rule":{"name":"Monosync-WinRM-In","enabled":"false","localPorts":[5986],"remoteAddresses":["10.0.0.5"],"profiles":["Domain"]}}' }
            @{ Case = 'without localPorts'; RollbackTo = '{"rule":{"name":"Monosync-WinRM-In","enabled":true,"remoteAddresses":["10.0.0.5"],"profiles":["Domain"]}}' }
            @{ Case = 'with localPorts null'; RollbackTo = '{"rule":{"name":"Monosync-WinRM-In","enabled":true,"localPorts":null,"remoteAddresses":["10.0.0.5"],"profiles":["Domain"]}}' }
            @{ Case = 'with localPorts a number, not an array'; RollbackTo = '{"rule":{"name":"Monosync-WinRM-In","enabled":true,"localPorts":5986,"remoteAddresses":["10.0.0.5"],"profiles":["Domain"]}}' }
            @{ Case = 'with a port as a string'; RollbackTo = '{"rule":{"name":"Monosync-WinRM-In","enabled":true,"localPorts":["5986"],"remoteAddresses":["10.0.0.5"],"profiles":["Domain"]}}' }
            @{ Case = 'with port 0'; RollbackTo = '{"rule":{"name":"Monosync-WinRM-In","enabled":true,"localPorts":[0],"remoteAddresses":["10.0.0.5"],"profiles":["Domain"]}}' }
            @{ Case = 'with port 65536'; RollbackTo = '{"rule":{"name":"Monosync-WinRM-In","enabled":true,"localPorts":[65536],"remoteAddresses":["10.0.0.5"],"profiles":["Domain"]}}' }
            @{ Case = 'with a fractional port'; RollbackTo = '{"rule":{"name":"Monosync-WinRM-In","enabled":true,"localPorts":[5986.5],"remoteAddresses":["10.0.0.5"],"profiles":["Domain"]}}' }
            @{ Case = 'with a null port'; RollbackTo = '{"rule":{"name":"Monosync-WinRM-In","enabled":true,"localPorts":[null],"remoteAddresses":["10.0.0.5"],"profiles":["Domain"]}}' }
            @{ Case = 'without remoteAddresses'; RollbackTo = '{"rule":{"name":"Monosync-WinRM-In","enabled":true,"localPorts":[5986],"profiles":["Domain"]}}' }
            @{ Case = 'with remoteAddresses []'; RollbackTo = '{"rule":{"name":"Monosync-WinRM-In","enabled":true,"localPorts":[5986],"remoteAddresses":[],"profiles":["Domain"]}}' }
            @{ Case = 'with remoteAddresses a string, not an array'; RollbackTo = '{"rule":{"name":"Monosync-WinRM-In","enabled":true,"localPorts":[5986],"remoteAddresses":"10.0.0.5","profiles":["Domain"]}}' }
            @{ Case = 'with a null address'; RollbackTo = '{"rule":{"name":"Monosync-WinRM-In","enabled":true,"localPorts":[5986],"remoteAddresses":[null],"profiles":["Domain"]}}' }
            @{ Case = 'with an address holding a space'; RollbackTo = '{"rule":{"name":"Monosync-WinRM-In","enabled":true,"localPorts":[5986],"remoteAddresses":["10.0.0.5 10.0.0.6"],"profiles":["Domain"]}}' }
            @{ Case = 'with another rule''s name'; RollbackTo = '{"rule":{"name":"WINRM-HTTP-In-TCP","enabled":true,"localPorts":[5986],"remoteAddresses":["10.0.0.5"],"profiles":["Domain"]}}' }
            @{ Case = 'without name'; RollbackTo = '{"rule":{"enabled":true,"localPorts":[5986],"remoteAddresses":["10.0.0.5"],"profiles":["Domain"]}}' }
        ) {
            $machine = Use-FwHost -Rules @(New-FwRule -Ports @(5986) -Addresses @('Any'))
            $json = $Json
            if (-not $json) { $json = New-FwJson -Mode rollback -Ports '[5986]' -RemoteAddresses '["10.0.0.5"]' -RollbackTo $RollbackTo }
            $envelope = Invoke-Fw -RequestJson $json
            $envelope.ok | Should -BeFalse
            $envelope.mode | Should -Be 'rollback'
            $envelope.error.code | Should -Be 'InvalidInput'
            Get-FailureType -Code $envelope.error.code -Class $envelope.error.class | Should -Be 'InvalidInput'
            Get-Reads | Should -BeNullOrEmpty
            Get-Writes | Should -BeNullOrEmpty
            (Get-MonosyncRule $machine)[0].remoteAddresses | Should -Be @('Any')
        }

        It 'accepts a saved rule whose name Windows spelled in other capitals, and addresses Windows reports' {
            $machine = Use-FwHost -Rules @(New-FwRule)
            $state = '{"rule":{"name":"MONOSYNC-WINRM-IN","enabled":true,"localPorts":[5986],"remoteAddresses":["10.0.0.0/255.255.255.0","fe80::/64","10.1.0.1-10.1.0.9","LocalSubnet","Intranet4"],"profiles":["Domain"]}}'
            $envelope = Invoke-Fw -RequestJson (New-FwJson -Mode rollback -RollbackTo $state)
            $envelope.ok | Should -BeTrue
            (Get-MonosyncRule $machine)[0].remoteAddresses | Should -Be @('10.0.0.0/255.255.255.0', 'fe80::/64', '10.1.0.1-10.1.0.9', 'LocalSubnet', 'Intranet4')
            (Get-MonosyncRule $machine)[0].name | Should -Be 'Monosync-WinRM-In'
        }

        It 'refuses a rollback by hand without -RollbackToJson, and takes one with it' {
            $machine = Use-FwHost -Rules @(New-FwRule)
            $path = Save-StepScript -Name 'Set-MonosyncFirewallRule' -Path (Join-Path -Path $TestDrive -ChildPath 'Set-MonosyncFirewallRule.ps1') -StrictMode $true
            (ConvertFrom-StepEnvelope -Script 'Set-MonosyncFirewallRule' -Output @(& $path -Mode rollback)).error.code | Should -Be 'InvalidInput'
            (ConvertFrom-StepEnvelope -Script 'Set-MonosyncFirewallRule' -Output @(& $path -Mode rollback -RollbackToJson 'null')).error.code | Should -Be 'InvalidInput'
            (ConvertFrom-StepEnvelope -Script 'Set-MonosyncFirewallRule' -Output @(& $path -Mode rollback -RollbackToJson '[{"rule":null}]')).error.code | Should -Be 'InvalidInput'
            Get-Writes | Should -BeNullOrEmpty
            $good = ConvertFrom-StepEnvelope -Script 'Set-MonosyncFirewallRule' -Output @(& $path -Mode rollback -RollbackToJson '{"rule":null}')
            $good.ok | Should -BeTrue
            $good.changed | Should -BeTrue
            Get-MonosyncRule $machine | Should -BeNullOrEmpty
        }
    }

    Context 'the script''s own validation refuses every hostile value' {
        It 'refuses RemoteAddresses holding <Shown> in <Mode> (from test/powershell-injection.test.ts)' -ForEach @(
            foreach ($mode in 'plan', 'apply', 'rollback') {
                # Discovery runs before BeforeAll: the values come from node here too (cached for the run).
                Import-Module -Name (Join-Path -Path $PSScriptRoot -ChildPath '../../test/powershell/SeamTestKit.psm1')
                foreach ($hostile in Get-HostileValue) {
                    foreach ($value in @($hostile, "10.0.0.5$hostile", "${hostile}10.0.0.5")) {
                        @{ Mode = $mode; Value = $value; Shown = (ConvertTo-Json -InputObject $value -Compress) }
                    }
                }
            }
        ) {
            $machine = Use-FwHost -Rules @(New-FwRule -Addresses @('Any'))
            $envelope = Invoke-Fw (New-FwRequest -Mode $Mode -RemoteAddresses @($Value) -RollbackTo ([ordered]@{ rule = $null }))
            $envelope.ok | Should -BeFalse
            $envelope.error.code | Should -Be 'InvalidInput'
            Get-Reads | Should -BeNullOrEmpty
            Get-Writes | Should -BeNullOrEmpty
            (Get-MonosyncRule $machine)[0].remoteAddresses | Should -Be @('Any')
        }

        It 'refuses RuleName <Shown>' -ForEach @(
            Import-Module -Name (Join-Path -Path $PSScriptRoot -ChildPath '../../test/powershell/SeamTestKit.psm1')
            foreach ($hostile in Get-HostileValue) {
                foreach ($value in @($hostile, "Monosync-WinRM-In$hostile", "${hostile}Monosync-WinRM-In")) { @{ Value = $value; Shown = (ConvertTo-Json -InputObject $value -Compress) } }
            }
        ) {
            Use-FwHost | Out-Null
            $envelope = Invoke-Fw (New-FwRequest -Mode apply -RuleName $Value)
            $envelope.error.code | Should -Be 'InvalidInput'
            Get-Reads | Should -BeNullOrEmpty
            Get-Writes | Should -BeNullOrEmpty
        }

        It 'refuses rollbackTo.rule.<Field> <Shown>' -ForEach @(
            Import-Module -Name (Join-Path -Path $PSScriptRoot -ChildPath '../../test/powershell/SeamTestKit.psm1')
            foreach ($hostile in Get-HostileValue) {
                foreach ($value in @($hostile, "10.0.0.5$hostile", "${hostile}10.0.0.5")) { @{ Field = 'remoteAddresses'; Value = $value; Shown = (ConvertTo-Json -InputObject $value -Compress) } }
                foreach ($value in @($hostile, "Monosync-WinRM-In$hostile", "${hostile}Monosync-WinRM-In")) { @{ Field = 'name'; Value = $value; Shown = (ConvertTo-Json -InputObject $value -Compress) } }
            }
        ) {
            $machine = Use-FwHost -Rules @(New-FwRule)
            $rule = [ordered]@{ name = 'Monosync-WinRM-In'; enabled = $true; localPorts = @(5986); remoteAddresses = @('10.0.0.5') }
            if ($Field -eq 'name') { $rule.name = $Value } else { $rule.remoteAddresses = @($Value) }
            $envelope = Invoke-Fw (New-FwRequest -Mode rollback -RollbackTo ([ordered]@{ rule = $rule }))
            $envelope.error.code | Should -Be 'InvalidInput'
            Get-Reads | Should -BeNullOrEmpty
            Get-Writes | Should -BeNullOrEmpty
            (Get-MonosyncRule $machine)[0].remoteAddresses | Should -Be $script:Monosync
        }

        It 'refuses <Case>' -ForEach @(
            @{ Case = 'Ports []'; Ports = '[]' }
            @{ Case = 'Ports null'; Ports = 'null' }
            @{ Case = 'Ports as a number, not an array'; Ports = '5986' }
            @{ Case = 'Ports holding a string'; Ports = '["5986"]' }
            @{ Case = 'Ports holding a fraction'; Ports = '[5986.5]' }
            @{ Case = 'Ports holding true'; Ports = '[true]' }
            @{ Case = 'Ports holding null'; Ports = '[null]' }
            @{ Case = 'Ports holding an array'; Ports = '[[5986]]' }
            @{ Case = 'Ports holding 80'; Ports = '[5986,80]' }
            @{ Case = 'RemoteAddresses []'; RemoteAddresses = '[]' }
            @{ Case = 'RemoteAddresses null'; RemoteAddresses = 'null' }
            @{ Case = 'RemoteAddresses as a string, not an array'; RemoteAddresses = '"10.0.0.5"' }
            @{ Case = 'RemoteAddresses holding null'; RemoteAddresses = '[null]' }
            @{ Case = 'RemoteAddresses holding a number'; RemoteAddresses = '[5]' }
            @{ Case = 'RemoteAddresses holding an empty string'; RemoteAddresses = '[""]' }
            @{ Case = 'Any with an address'; RemoteAddresses = '["Any","10.0.0.5"]' }
            @{ Case = 'any in lower case'; RemoteAddresses = '["any"]' }
            @{ Case = 'an octet above 255'; RemoteAddresses = '["10.0.0.256"]' }
            @{ Case = 'a leading zero'; RemoteAddresses = '["010.0.0.5"]' }
            @{ Case = 'a subnet'; RemoteAddresses = '["10.0.0.0/24"]' }
            @{ Case = 'a leading space'; RemoteAddresses = '[" 10.0.0.5"]' }
            @{ Case = 'a trailing line break'; RemoteAddresses = '["10.0.0.5\n"]' }
            @{ Case = 'Arabic-Indic digits'; RemoteAddresses = '["\u0661\u0660.0.0.5"]' }
            @{ Case = 'an IPv6 address with two ::'; RemoteAddresses = '["fe80::1::2"]' }
            @{ Case = 'an IPv6 group of five digits'; RemoteAddresses = '["fe80::12345"]' }
            @{ Case = 'a host name'; RemoteAddresses = '["monosync01.corp.example"]' }
            @{ Case = 'RuleName null'; RuleName = 'null' }
            @{ Case = 'RuleName in other capitals'; RuleName = '"monosync-winrm-in"' }
            @{ Case = 'RuleName with a zero-width space'; RuleName = '"Monosync-WinRM-In\u200b"' }
            @{ Case = 'RuleName of another rule'; RuleName = '"WINRM-HTTP-In-TCP"' }
            @{ Case = 'RuleName as an array'; RuleName = '["Monosync-WinRM-In"]' }
        ) {
            $machine = Use-FwHost -Rules @(New-FwRule -Addresses @('Any'))
            $data = $_
            $parts = @{ Mode = 'apply' }
            foreach ($name in 'Ports', 'RemoteAddresses', 'RuleName') {
                if ($data.ContainsKey($name)) { $parts[$name] = $data[$name] }
            }
            $envelope = Invoke-Fw -RequestJson (New-FwJson @parts)
            $envelope.ok | Should -BeFalse
            $envelope.error.code | Should -Be 'InvalidInput'
            Get-Writes | Should -BeNullOrEmpty
            (Get-MonosyncRule $machine)[0].remoteAddresses | Should -Be @('Any')
        }

        It 'takes IPv6 addresses as domain/validators.ts does: <Address>' -ForEach @(
            @{ Address = 'fe80::1' }
            @{ Address = '2001:db8:0:0:0:0:0:1' }
            @{ Address = '::1' }
        ) {
            Use-FwHost | Out-Null
            (Invoke-Fw -RequestJson (New-FwJson -Mode plan -RemoteAddresses "[`"$Address`"]")).ok | Should -BeTrue
        }

        It 'refuses a request whose <Case>' -ForEach @(
            @{ Case = 'params are missing'; Mode = 'apply'; Json = '{"mode":"apply","rollbackTo":null}' }
            @{ Case = 'params are null'; Mode = 'apply'; Json = '{"mode":"apply","params":null,"rollbackTo":null}' }
            @{ Case = 'params are a one-element array'; Mode = 'apply'; Json = '{"mode":"apply","params":[{"RuleName":"Monosync-WinRM-In","Ports":[5986],"RemoteAddresses":["10.0.0.5"]}],"rollbackTo":null}' }
            @{ Case = 'params hold a member the step does not take'; Mode = 'apply'; Json = '{"mode":"apply","params":{"RuleName":"Monosync-WinRM-In","Ports":[5986],"RemoteAddresses":["10.0.0.5"],"Action":"Block"},"rollbackTo":null}' }
            @{ Case = 'mode is missing'; Json = '{"params":{"RuleName":"Monosync-WinRM-In","Ports":[5986],"RemoteAddresses":["10.0.0.5"]},"rollbackTo":null}' }
            @{ Case = 'mode is unknown'; Json = '{"mode":"delete","params":{"RuleName":"Monosync-WinRM-In","Ports":[5986],"RemoteAddresses":["10.0.0.5"]},"rollbackTo":null}' }
            @{ Case = 'mode has a zero-width space'; Json = '{"mode":"apply\u200b","params":{"RuleName":"Monosync-WinRM-In","Ports":[5986],"RemoteAddresses":["10.0.0.5"]},"rollbackTo":null}' }
            @{ Case = 'document is an array'; Json = '[{"mode":"apply","params":{"RuleName":"Monosync-WinRM-In","Ports":[5986],"RemoteAddresses":["10.0.0.5"]},"rollbackTo":null}]' }
        ) {
            Use-FwHost | Out-Null
            $envelope = Invoke-Fw -RequestJson $Json
            $envelope.ok | Should -BeFalse
            $expected = 'plan'
            if ($_.ContainsKey('Mode')) { $expected = $_.Mode }
            $envelope.mode | Should -Be $expected -Because 'a refused mode is reported as plan'
            $envelope.error.code | Should -Be 'InvalidInput'
            Get-Writes | Should -BeNullOrEmpty
        }

        It 'runs by hand with named parameters, and refuses a hostile one at parameter binding' {
            $machine = Use-FwHost
            $path = Save-StepScript -Name 'Set-MonosyncFirewallRule' -Path (Join-Path -Path $TestDrive -ChildPath 'Set-MonosyncFirewallRule.ps1') -StrictMode $true
            $plan = ConvertFrom-StepEnvelope -Script 'Set-MonosyncFirewallRule' -Output @(& $path -Mode plan -Ports 5986 -RemoteAddresses 10.0.0.5 -Profiles Domain)
            $plan.ok | Should -BeTrue
            $plan.after.rule.localPorts | Should -Be @(5986)
            $apply = ConvertFrom-StepEnvelope -Script 'Set-MonosyncFirewallRule' -Output @(& $path -Mode apply -Ports 5985, 5986 -RemoteAddresses 10.0.0.5, 10.0.0.6 -Profiles Domain)
            $apply.ok | Should -BeTrue
            (Get-MonosyncRule $machine)[0].remoteAddresses | Should -Be @('10.0.0.5', '10.0.0.6')
            (ConvertFrom-StepEnvelope -Script 'Set-MonosyncFirewallRule' -Output @(& $path -Mode apply)).error.code | Should -Be 'InvalidInput'
            (ConvertFrom-StepEnvelope -Script 'Set-MonosyncFirewallRule' -Output @(& $path -Mode apply -Ports 5986 -RemoteAddresses 999.1.1.1 -Profiles Domain)).error.code | Should -Be 'InvalidInput'
            foreach ($bad in @("10.0.0.5'; Remove-Item C:\ -Recurse; '", "10.0.0.5`n", '*')) {
                $thrown = $null
                try { & $path -Mode apply -Ports 5986 -RemoteAddresses $bad } catch { $thrown = $_ }
                $thrown.FullyQualifiedErrorId | Should -BeLike 'ParameterArgumentValidationError*'
            }
            (Get-Writes).Count | Should -Be 1
        }
    }

    Context 'errors as Windows produces them' {
        It '<Case> -> <Type>' -ForEach @(
            @{ Case = 'creating the rule, not elevated (Windows System Error 5)'; Seam = 'New-WinFirewallRule'; Start = 'absent'; Mode = 'apply'; Type = 'AccessDenied'; Code = '5'
                Throw = { New-NetSecurityError -Kind AccessDenied -Command 'New-NetFirewallRule' } }
            @{ Case = 'correcting the rule, not elevated'; Seam = 'Set-WinFirewallRule'; Start = 'wide'; Mode = 'apply'; Type = 'AccessDenied'; Code = '5'
                Throw = { New-NetSecurityError -Kind AccessDenied -Command 'Set-NetFirewallRule' } }
            @{ Case = 'removing the rule in a rollback, not elevated'; Seam = 'Remove-WinFirewallRule'; Start = 'wide'; Mode = 'rollback'; Type = 'AccessDenied'; Code = '5'
                Throw = { New-NetSecurityError -Kind AccessDenied -Command 'Remove-NetFirewallRule' } }
            @{ Case = 'reading the rule, refused'; Seam = 'Get-WinFirewallRule'; Start = 'wide'; Mode = 'apply'; Type = 'AccessDenied'; Code = '5'
                Throw = { New-NetSecurityError -Kind AccessDenied -Command 'Get-NetFirewallRule' } }
            @{ Case = 'reading the port filter, refused (CIM HRESULT 0x80070005)'; Seam = 'Get-WinFirewallPortFilter'; Start = 'wide'; Mode = 'plan'; Type = 'AccessDenied'; Code = '5'
                Throw = { New-CimError -ErrorId 'HRESULT 0x80070005,Get-NetFirewallPortFilter' } }
            @{ Case = 'the firewall service (MpsSvc) stopped: reading the rule'; Seam = 'Get-WinFirewallRule'; Start = 'absent'; Mode = 'plan'; Type = 'FirewallServiceStopped'; Code = '1753'
                Throw = { New-NetSecurityError -Kind ServiceStopped -Command 'Get-NetFirewallRule' } }
            @{ Case = 'the firewall service (MpsSvc) stopped: reading the profiles'; Seam = 'Get-WinFirewallProfile'; Start = 'absent'; Mode = 'apply'; Type = 'FirewallServiceStopped'; Code = '1753'
                Throw = { New-NetSecurityError -Kind ServiceStopped -Command 'Get-NetFirewallProfile' } }
            @{ Case = 'a rule of the name created between the read and New-NetFirewallRule'; Seam = 'New-WinFirewallRule'; Start = 'absent'; Mode = 'apply'; Type = 'ObjectAlreadyExists'; Code = '183'
                Throw = { New-NetSecurityError -Kind Exists -Command 'New-NetFirewallRule' } }
            @{ Case = 'the rule removed between the read and Set-NetFirewallRule'; Seam = 'Set-WinFirewallRule'; Start = 'wide'; Mode = 'apply'; Type = 'PowerShellError'; Code = 'PowerShellError'
                Throw = { New-NetSecurityError -Kind NotFound -Command 'Set-NetFirewallRule' } }
            @{ Case = 'an address Windows refuses (E_INVALIDARG)'; Seam = 'Set-WinFirewallRule'; Start = 'wide'; Mode = 'apply'; Type = 'PowerShellError'; Code = '87'
                Throw = { New-NetSecurityError -Kind InvalidArgument -Command 'Set-NetFirewallRule' } }
        ) {
            $rules = @()
            if ($Start -eq 'wide') { $rules = @(New-FwRule -Addresses @('Any')) }
            $machine = Use-FwHost -Rules $rules
            $record = & $Throw
            Set-SeamFake -Name $Seam -ScriptBlock { throw $record }.GetNewClosure()
            $envelope = Invoke-Fw (New-FwRequest -Mode $Mode -RollbackTo ([ordered]@{ rule = $null }))
            $envelope.ok | Should -BeFalse
            $envelope.changed | Should -BeFalse
            $envelope.mode | Should -Be $Mode
            $envelope.error.code | Should -Be $Code
            $envelope.error.fqid | Should -Be $record.FullyQualifiedErrorId
            Get-FailureType -Code $envelope.error.code -Class $envelope.error.class | Should -Be $Type
            (Get-MonosyncRule $machine).Count | Should -Be $rules.Count
        }
    }

    It 'prints only envelopes that match domain/envelope.ts and the step''s state schema (zod, via node)' {
        Assert-StepEnvelopeContract | Should -BeGreaterThan 100
    }
}
