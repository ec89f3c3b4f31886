# Pester 5 tests of Get-OnboardingSnapshot.ps1 in real pwsh; nothing here needs Windows. Run by
# `npm run test:ps` and `npm test` (scripts/test-ps.ts).
#
# The script runs exactly as the runner sends it (its standalone text with powershell/MonosyncCommon.ps1 in
# place, one script block in a fresh module, the request as base64 JSON), always under Set-StrictMode
# -Version Latest, with every Windows operation replaced through the seam (test/powershell/SeamTestKit.psm1):
# LabSeam binds the seam to a lab host (the LabHost JSON of lab/model.ts), with the fakes the other steps'
# tests use for the same reads, and single seam functions are replaced by fakes that throw the error records
# Windows really produces. The last test checks every envelope printed here against the zod schemas the
# activities use (the snapshot's schema is made of the steps' own state schemas).

BeforeAll {
    Import-Module -Name (Join-Path -Path $PSScriptRoot -ChildPath '../../test/powershell/SeamTestKit.psm1') -Force
    Import-Module -Name (Join-Path -Path $PSScriptRoot -ChildPath '../../test/powershell/LabSeam.psm1') -Force
    $script:Fqdn = 'exch01.corp.example'
    $script:Account = 'CORP\monosync_svc'
    # The reads that go through WinRM: with WinRM stopped the snapshot must make none of them.
    $script:WinRMReads = @('Get-WinWsmanListener', 'Get-WinPSSessionConfiguration', 'Get-WinWsmanItem')

    function New-SnapshotRequest {
        param([string]$Mode = 'plan', $Fqdn = $script:Fqdn, $ServiceAccount = $script:Account, $RollbackTo = $null)
        return [ordered]@{ mode = $Mode; params = [ordered]@{ Fqdn = $Fqdn; ServiceAccount = $ServiceAccount }; rollbackTo = $RollbackTo }
    }

    function Invoke-Snapshot {
        param($Request, [string]$RequestJson)
        return (Invoke-StepEnvelope -Name 'Get-OnboardingSnapshot' -Request $Request -RequestJson $RequestJson)
    }

    function Get-RawSnapshot {
        # The last envelope's before as JSON parsed to dictionaries and arrays (dates stay text, arrays stay
        # arrays), by the kit's parser that works the same on Windows PowerShell 5.1 and PowerShell 7.
        return (ConvertFrom-JsonDocument -Json (Get-LastStepOutput)[0]).before
    }

    function Use-SnapshotHost {
        param([string]$Profile = 'onboarded')
        $machine = New-LabHost -Profile $Profile
        Use-LabSeam -Machine $machine
        return $machine
    }

    function Get-Listener {
        param($Machine)
        return @($Machine.listeners | Where-Object { $_.transport -eq 'HTTPS' })[0]
    }

    function Get-Rule {
        param($Machine)
        return @($Machine.firewall.rules | Where-Object { $_.name -eq 'Monosync-WinRM-In' })[0]
    }
}

AfterAll {
    Remove-SeamFake
}

Describe 'Get-OnboardingSnapshot.ps1' {
    It 'does every Windows operation through the seam, with the steps'' own read functions' {
        Get-StepSeamViolation -Name 'Get-OnboardingSnapshot' | Should -BeNullOrEmpty
        $commands = (Get-StepScriptCommand -Name 'Get-OnboardingSnapshot').Commands
        foreach ($seam in 'Get-WinComputerSystem', 'Resolve-WinAccountSid', 'Resolve-WinSidAccount', 'Get-WinLocalGroupMemberSid', 'Get-RemoteManagementAccess',
            'Get-WinPSSessionConfiguration', 'Get-WinService', 'Get-WinCimService', 'Get-WinWsmanListener', 'Get-WinCertificate', 'Get-WinWsmanItem',
            'Get-WinRegistryValue', 'Get-WinFirewallRule', 'Get-WinFirewallPortFilter', 'Get-WinFirewallAddressFilter', 'Test-WinRegistryKey',
            'Get-WinOperatingSystem', 'Get-WinPowerShellVersion') {
            $commands | Should -Contain $seam
        }
        foreach ($direct in 'Get-CimInstance', 'Get-Service', 'Get-WSManInstance', 'Get-PSSessionConfiguration', 'Get-NetFirewallRule', 'Get-ItemProperty', 'Test-Path', 'Get-ChildItem', 'Get-Item') {
            $commands | Should -Not -Contain $direct
        }
    }

    Context 'plan and apply on a lab host (the same read-only snapshot)' {
        It 'reads an onboarded host in <Mode>, each part as its step reads it, changing nothing' -ForEach @(
            @{ Mode = 'plan' }
            @{ Mode = 'apply' }
        ) {
            $machine = Use-SnapshotHost -Profile onboarded
            $pristine = ConvertTo-Json -InputObject $machine -Depth 20 -Compress
            $envelope = Invoke-Snapshot (New-SnapshotRequest -Mode $Mode)
            $envelope.ok | Should -BeTrue
            $envelope.mode | Should -Be $Mode
            $envelope.compliant | Should -BeTrue
            $envelope.changed | Should -BeFalse
            $envelope.target | Should -Be $script:Fqdn
            $snapshot = Get-RawSnapshot
            $snapshot.fqdn | Should -Be $script:Fqdn
            $snapshot.computerName | Should -Be 'EXCH01'
            $snapshot.domainJoined | Should -BeTrue
            $snapshot.isDomainController | Should -BeFalse
            $snapshot.isEdgeTransport | Should -BeFalse
            $snapshot.osVersion | Should -Be $machine.osVersion
            $snapshot.psVersion | Should -Be $machine.psVersion
            $snapshot.remoteManagement.member | Should -BeTrue
            $snapshot.remoteManagement.groupName | Should -Be 'Remote Management Users' -Because 'the group''s own name, as Grant-RemoteManagement reports it (not BUILTIN\...)'
            $snapshot.remoteManagement.endpointAllowsGroup | Should -BeTrue
            $snapshot.remoteManagement.networkDenied | Should -BeFalse
            $snapshot.remoting.serviceStatus | Should -Be 'Running'
            $snapshot.remoting.startType | Should -Be 'Automatic'
            @($snapshot.remoting.listeners | ForEach-Object { "$($_.transport):$($_.port)" }) | Should -Be @('HTTP:5985', 'HTTPS:5986')
            $snapshot.remoting.endpointsEnabled | Should -BeTrue
            $listener = Get-Listener -Machine $machine
            $snapshot.httpsListener.listener.port | Should -Be 5986
            $snapshot.httpsListener.listener.thumbprint | Should -Be $listener.thumbprint
            $certificate = @($machine.certificates | Where-Object { $_.thumbprint -eq $listener.thumbprint })[0]
            $snapshot.httpsListener.certificate.notAfter | Should -Be $certificate.notAfter -Because 'dates as the lab and Set-HttpsListener write them (ISO, milliseconds)'
            $snapshot.httpsListener.certificate.serverAuth | Should -BeTrue
            $snapshot.cbt.level | Should -Be $machine.cbt.level
            $snapshot.cbt.policyControlled | Should -BeFalse
            $snapshot.trustedHosts.value | Should -Be $machine.trustedHosts.value
            $snapshot.firewall.rule.name | Should -Be 'Monosync-WinRM-In'
            $snapshot.firewall.rule.localPorts | Should -Be @(5985, 5986)
            $envelope.evidence.certificates | Should -Be @($machine.certificates).Count
            $envelope.warnings | Should -BeNullOrEmpty
            (ConvertTo-Json -InputObject $machine -Depth 20 -Compress) | Should -Be $pristine -Because 'the snapshot only reads'
        }

        It 'reads a fresh host: no HTTPS listener, no rule, the account not a member' {
            Use-SnapshotHost -Profile fresh | Out-Null
            Invoke-Snapshot (New-SnapshotRequest) | Out-Null
            $snapshot = Get-RawSnapshot
            $snapshot.remoteManagement.member | Should -BeFalse
            $snapshot.httpsListener.listener | Should -BeNullOrEmpty
            $snapshot.httpsListener.certificate | Should -BeNullOrEmpty
            $snapshot.firewall.rule | Should -BeNullOrEmpty
            # One listener: still a JSON array.
            ($snapshot.remoting.listeners -is [object[]]) | Should -BeTrue
            $snapshot.remoting.listeners.Count | Should -Be 1
        }

        It 'warns when the server calls itself by another name than the one asked for' {
            Use-SnapshotHost -Profile onboarded | Out-Null
            $envelope = Invoke-Snapshot (New-SnapshotRequest -Fqdn 'exch01.other.example')
            $envelope.ok | Should -BeTrue
            (Get-RawSnapshot).fqdn | Should -Be $script:Fqdn
            @($envelope.warnings) | Should -Be @('the server calls itself exch01.corp.example, not exch01.other.example')
        }

        It 'keeps <Case> a JSON array' -ForEach @(
            @{ Case = 'an empty list of listeners (WinRM without any enabled)'; Arrange = { param($m) foreach ($l in $m.listeners) { $l.enabled = $false } }; Path = { param($s) , $s.remoting.listeners }; Count = 0 }
            @{ Case = 'a certificate with one DNS name'; Arrange = {}; Path = { param($s) , $s.httpsListener.certificate.dnsNames }; Count = 1 }
            @{ Case = 'a certificate with no DNS name'; Arrange = { param($m) $t = (Get-Listener -Machine $m).thumbprint; @($m.certificates | Where-Object { $_.thumbprint -eq $t })[0].dnsNames = [object[]]@() }; Path = { param($s) , $s.httpsListener.certificate.dnsNames }; Count = 0 }
            @{ Case = 'a rule with one port and one address'; Arrange = { param($m) $r = Get-Rule -Machine $m; $r.localPorts = [object[]]@(5986); $r.remoteAddresses = [object[]]@('10.0.0.10') }; Path = { param($s) @(, $s.firewall.rule.localPorts) + @(, $s.firewall.rule.remoteAddresses) }; Count = 2 }
            @{ Case = 'a rule on any port (LocalPort Any: no port numbers)'; Arrange = { param($m) (Get-Rule -Machine $m).localPorts = [object[]]@() }; Path = { param($s) , $s.firewall.rule.localPorts }; Count = 0 }
        ) {
            $machine = Use-SnapshotHost -Profile onboarded
            & $Arrange $machine
            $envelope = Invoke-Snapshot (New-SnapshotRequest)
            $envelope.ok | Should -BeTrue
            $value = & $Path (Get-RawSnapshot)
            if ($Case -like 'a rule with one port*') {
                foreach ($list in $value) { ($list -is [object[]]) | Should -BeTrue; $list.Count | Should -Be 1 }
            } else {
                ($value -is [object[]]) | Should -BeTrue -Because "$Case must print as a JSON array"
                $value.Count | Should -Be $Count
            }
        }

        It 'reports a listener whose certificate is gone from the store with certificate null' {
            $machine = Use-SnapshotHost -Profile onboarded
            $thumbprint = (Get-Listener -Machine $machine).thumbprint
            $machine.certificates = [object[]]@($machine.certificates | Where-Object { $_.thumbprint -ne $thumbprint })
            Invoke-Snapshot (New-SnapshotRequest) | Out-Null
            $snapshot = Get-RawSnapshot
            $snapshot.httpsListener.listener.thumbprint | Should -Be $thumbprint
            $snapshot.httpsListener.certificate | Should -BeNullOrEmpty
        }

        It 'ignores a Compatibility HTTPS listener (port 443), as Set-HttpsListener does' {
            $machine = Use-SnapshotHost -Profile fresh
            $compat = [pscustomobject]@{ address = '*'; transport = 'HTTPS'; port = 443; hostname = ''; thumbprint = ''; enabled = $true; source = 'Compatibility' }
            $machine.listeners = [object[]](@($machine.listeners) + @($compat))
            Invoke-Snapshot (New-SnapshotRequest) | Out-Null
            (Get-RawSnapshot).httpsListener.listener | Should -BeNullOrEmpty
        }

        It 'sees a Group Policy on <Setting> from <Signal> alone' -ForEach @(
            @{ Setting = 'cbt'; Signal = 'WinRM reporting the source as GPO'; Source = 'GPO'; Registry = $null }
            @{ Setting = 'cbt'; Signal = 'the policy key'; Source = $null; Registry = 'Strict' }
            @{ Setting = 'trustedHosts'; Signal = 'WinRM reporting the source as GPO'; Source = 'GPO'; Registry = $null }
            @{ Setting = 'trustedHosts'; Signal = 'the policy key'; Source = $null; Registry = 1 }
        ) {
            Use-SnapshotHost -Profile onboarded | Out-Null
            $source = $Source
            $registry = $Registry
            $setting = $Setting
            Set-SeamFake -Name Get-WinWsmanItem -ScriptBlock {
                param($Path)
                $gpo = $null
                if (($setting -eq 'cbt' -and $Path -like '*CbtHardeningLevel') -or ($setting -eq 'trustedHosts' -and $Path -like '*TrustedHosts')) { $gpo = $source }
                [pscustomobject]@{ Name = ($Path -split '\\')[-1]; Value = 'x'; SourceOfValue = $gpo }
            }.GetNewClosure()
            Set-SeamFake -Name Get-WinRegistryValue -ScriptBlock {
                param($Key, $Name)
                if (($setting -eq 'cbt' -and $Key -like '*\Service') -or ($setting -eq 'trustedHosts' -and $Key -like '*\Client')) { $registry }
            }.GetNewClosure()
            Invoke-Snapshot (New-SnapshotRequest) | Out-Null
            $snapshot = Get-RawSnapshot
            $snapshot[$Setting].policyControlled | Should -BeTrue
            $other = @{ cbt = 'trustedHosts'; trustedHosts = 'cbt' }[$Setting]
            $snapshot[$other].policyControlled | Should -BeFalse
        }

        It 'takes a deny for the group over its allow, and reads WinRM''s RootSDDL for an endpoint without an ACL of its own' {
            Use-SnapshotHost -Profile onboarded | Out-Null
            Set-SeamFake -Name Get-WinPSSessionConfiguration -ScriptBlock { [pscustomobject]@{ Name = 'microsoft.powershell'; Enabled = 'true'; SecurityDescriptorSddl = 'O:NSG:BAD:P(D;;GA;;;RM)(A;;GA;;;BA)(A;;GA;;;RM)' } }
            Invoke-Snapshot (New-SnapshotRequest) | Out-Null
            (Get-RawSnapshot).remoteManagement.endpointAllowsGroup | Should -BeFalse
            Set-SeamFake -Name Get-WinPSSessionConfiguration -ScriptBlock { [pscustomobject]@{ Name = 'microsoft.powershell'; Enabled = 'true'; SecurityDescriptorSddl = '' } }
            Set-SeamFake -Name Get-WinWsmanItem -ScriptBlock {
                param($Path)
                if ($Path -eq 'WSMan:\localhost\Service\RootSDDL') { return [pscustomobject]@{ Name = 'RootSDDL'; Value = 'O:NSG:BAD:P(A;;GA;;;BA)(A;;GR;;;IU)(A;;GA;;;RM)S:P(AU;FA;GA;;;WD)(AU;SA;GXGW;;;WD)'; SourceOfValue = $null } }
                [pscustomobject]@{ Name = 'x'; Value = ''; SourceOfValue = $null }
            }
            Invoke-Snapshot (New-SnapshotRequest) | Out-Null
            (Get-RawSnapshot).remoteManagement.endpointAllowsGroup | Should -BeTrue
            @(Get-SeamCall -Name Get-WinWsmanItem).Parameters.Path | Should -Contain 'WSMan:\localhost\Service\RootSDDL'
        }
    }

    Context 'what makes a server unfit is reported, never a failure' {
        It 'an Edge Transport server: no domain, the account unresolvable (member false, a warning)' {
            Use-SnapshotHost -Profile edge | Out-Null
            $envelope = Invoke-Snapshot (New-SnapshotRequest)
            $envelope.ok | Should -BeTrue
            $snapshot = Get-RawSnapshot
            $snapshot.isEdgeTransport | Should -BeTrue
            $snapshot.domainJoined | Should -BeFalse
            $snapshot.remoteManagement.member | Should -BeFalse
            ($envelope.warnings -join ' ') | Should -BeLike '*does not resolve*'
            Get-SeamCall -Name Get-WinLocalGroupMemberSid | Should -BeNullOrEmpty
            @(Get-SeamCall -Name Test-WinRegistryKey)[0].Parameters.Key | Should -Be 'HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\ExchangeServer\v15\EdgeTransportRole'
        }

        It 'Group Policy over WinRM (<Profile>): reported in winrmPolicy with a warning naming the policy and the fix' -ForEach @(
            @{ Profile = 'gpo-winrm-ipv4-filter'; Listener = @{ ipv4Filter = ''; ipv6Filter = '*' }; StartType = $null; Like = '*Allow remote server management through WinRM'' sets an empty IPv4 filter*' }
            @{ Profile = 'gpo-winrm-service'; Listener = $null; StartType = 'Disabled'; Like = '*''Security Settings > System Services''*start type to Disabled*' }
        ) {
            Use-SnapshotHost -Profile $Profile | Out-Null
            $envelope = Invoke-Snapshot (New-SnapshotRequest)
            $envelope.ok | Should -BeTrue
            $policy = (Get-RawSnapshot).winrmPolicy
            if ($null -eq $Listener) { $policy.listener | Should -BeNullOrEmpty }
            else {
                $policy.listener.ipv4Filter | Should -BeExactly $Listener.ipv4Filter
                $policy.listener.ipv6Filter | Should -BeExactly $Listener.ipv6Filter
            }
            if ($null -eq $StartType) { $policy.serviceStartType | Should -BeNullOrEmpty }
            else {
                $policy.serviceStartType.startType | Should -Be $StartType
                $policy.serviceStartType.gpo | Should -BeLike 'cn={31B2F340-*'
            }
            @($envelope.warnings | Where-Object { $_ -like $Like }).Count | Should -Be 1
        }

        It 'no Group Policy over WinRM: winrmPolicy has none, and no warning' {
            Use-SnapshotHost -Profile onboarded | Out-Null
            $envelope = Invoke-Snapshot (New-SnapshotRequest)
            $policy = (Get-RawSnapshot).winrmPolicy
            $policy.Contains('listener') | Should -BeTrue
            $policy.listener | Should -BeNullOrEmpty
            $policy.serviceStartType | Should -BeNullOrEmpty
            $envelope.warnings | Should -BeNullOrEmpty
        }

        It 'a domain controller (Grant-RemoteManagement refuses it; the snapshot says so)' {
            $machine = Use-SnapshotHost -Profile onboarded
            $machine.isDomainController = $true
            $envelope = Invoke-Snapshot (New-SnapshotRequest)
            $envelope.ok | Should -BeTrue
            (Get-RawSnapshot).isDomainController | Should -BeTrue
        }

        It 'WinRM stopped: reads nothing through WinRM (that would start it), reports it empty with a warning' {
            $machine = Use-SnapshotHost -Profile onboarded
            $machine.winrm.status = 'Stopped'
            $machine.cbt.policyControlled = $true
            $envelope = Invoke-Snapshot (New-SnapshotRequest)
            $envelope.ok | Should -BeTrue
            foreach ($read in $script:WinRMReads) { Get-SeamCall -Name $read | Should -BeNullOrEmpty -Because "$read goes through WinRM" }
            $snapshot = Get-RawSnapshot
            $snapshot.remoting.serviceStatus | Should -Be 'Stopped'
            $snapshot.remoting.listeners.Count | Should -Be 0
            ($snapshot.remoting.listeners -is [object[]]) | Should -BeTrue
            $snapshot.remoting.endpointsEnabled | Should -BeFalse
            $snapshot.httpsListener.listener | Should -BeNullOrEmpty
            $snapshot.cbt.level | Should -Be ''
            $snapshot.cbt.policyControlled | Should -BeTrue -Because 'the policy key is read without WinRM'
            $snapshot.remoteManagement.member | Should -BeTrue -Because 'the group is read without WinRM'
            $snapshot.firewall.rule.name | Should -Be 'Monosync-WinRM-In'
            ($envelope.warnings -join ' ') | Should -BeLike '*WinRM is not running*'
        }

        It 'reads the start type from WMI where the service has none (.NET before 4.6.1)' {
            Use-SnapshotHost -Profile onboarded | Out-Null
            Set-SeamFake -Name Get-WinService -ScriptBlock { param($Name) [pscustomobject]@{ Name = 'WinRM'; Status = 'Running' } }
            Invoke-Snapshot (New-SnapshotRequest) | Out-Null
            (Get-RawSnapshot).remoting.startType | Should -Be 'Automatic'
            @(Get-SeamCall -Name Get-WinCimService)[0].Parameters.Name | Should -Be 'WinRM'
        }
    }

    Context 'a rollback is refused: a read-only step has nothing to undo' {
        It 'refuses rollback with rollbackTo <Case>, reading nothing' -ForEach @(
            @{ Case = 'missing'; Json = '{"mode":"rollback","params":{"Fqdn":"exch01.corp.example","ServiceAccount":"CORP\\monosync_svc"}}' }
            @{ Case = 'null'; Json = '{"mode":"rollback","params":{"Fqdn":"exch01.corp.example","ServiceAccount":"CORP\\monosync_svc"},"rollbackTo":null}' }
            @{ Case = '{}'; Json = '{"mode":"rollback","params":{"Fqdn":"exch01.corp.example","ServiceAccount":"CORP\\monosync_svc"},"rollbackTo":{}}' }
            @{ Case = 'partial'; Json = '{"mode":"rollback","params":{"Fqdn":"exch01.corp.example","ServiceAccount":"CORP\\monosync_svc"},"rollbackTo":{"fqdn":"exch01.corp.example"}}' }
            @{ Case = 'an empty array'; Json = '{"mode":"rollback","params":{"Fqdn":"exch01.corp.example","ServiceAccount":"CORP\\monosync_svc"},"rollbackTo":[]}' }
            @{ Case = 'hostile'; Json = '{"mode":"rollback","params":{"Fqdn":"exch01.corp.example","ServiceAccount":"CORP\\monosync_svc"},"rollbackTo":{"fqdn":"x''; Remove-Item C:\\ -Recurse; ''"}}' }
        ) {
            Use-SnapshotHost -Profile onboarded | Out-Null
            $envelope = Invoke-Snapshot -RequestJson $Json
            $envelope.ok | Should -BeFalse
            $envelope.mode | Should -Be 'rollback'
            $envelope.error.code | Should -Be 'InvalidInput'
            Get-FailureType -Code $envelope.error.code -Class $envelope.error.class | Should -Be 'InvalidInput'
            @(Get-SeamCall | Where-Object { $_.Name -notin 'Get-WinComputerName', 'Resolve-WinDnsHostName' }) | Should -BeNullOrEmpty
        }

        It 'refuses a rollback by hand; a snapshot by hand works' {
            Use-SnapshotHost -Profile onboarded | Out-Null
            $path = Save-StepScript -Name 'Get-OnboardingSnapshot' -Path (Join-Path -Path $TestDrive -ChildPath 'Get-OnboardingSnapshot.ps1') -StrictMode $true
            (ConvertFrom-StepEnvelope -Script 'Get-OnboardingSnapshot' -Output @(& $path -Mode rollback -Fqdn $script:Fqdn -ServiceAccount $script:Account)).error.code | Should -Be 'InvalidInput'
            $good = ConvertFrom-StepEnvelope -Script 'Get-OnboardingSnapshot' -Output @(& $path -Fqdn $script:Fqdn -ServiceAccount $script:Account)
            $good.ok | Should -BeTrue
        }
    }

    Context 'the script''s own validation refuses every hostile value' {
        It 'refuses <Param> <Shown> in <Mode> (from test/powershell-injection.test.ts)' -ForEach @(
            Import-Module -Name (Join-Path -Path $PSScriptRoot -ChildPath '../../test/powershell/SeamTestKit.psm1')
            foreach ($mode in 'plan', 'apply') {
                foreach ($hostile in Get-HostileValue) {
                    foreach ($param in 'Fqdn', 'ServiceAccount') {
                        $valid = @{ Fqdn = 'exch01.corp.example'; ServiceAccount = 'CORP\monosync_svc' }[$param]
                        foreach ($value in @($hostile, "$valid$hostile", "$hostile$valid")) {
                            @{ Mode = $mode; Param = $param; Value = $value; Shown = (ConvertTo-Json -InputObject $value -Compress) }
                        }
                    }
                }
            }
        ) {
            Use-SnapshotHost -Profile onboarded | Out-Null
            $request = New-SnapshotRequest -Mode $Mode
            $request.params[$Param] = $Value
            $envelope = Invoke-Snapshot $request
            $envelope.ok | Should -BeFalse
            $envelope.error.code | Should -Be 'InvalidInput'
            @(Get-SeamCall | Where-Object { $_.Name -notin 'Get-WinComputerName', 'Resolve-WinDnsHostName' }) | Should -BeNullOrEmpty
        }

        It 'refuses <Param> <Case>' -ForEach @(
            foreach ($param in 'Fqdn', 'ServiceAccount') {
                $valid = ConvertTo-Json -InputObject (@{ Fqdn = 'exch01.corp.example'; ServiceAccount = 'CORP\monosync_svc' }[$param]) -Compress
                @{ Param = $param; Case = 'null'; Json = 'null' }
                @{ Param = $param; Case = 'empty'; Json = '""' }
                @{ Param = $param; Case = 'as a one-element array'; Json = "[$valid]" }
                @{ Param = $param; Case = 'as an empty array'; Json = '[]' }
                @{ Param = $param; Case = 'as an array holding null'; Json = '[null]' }
                @{ Param = $param; Case = 'as a number'; Json = '1' }
                @{ Param = $param; Case = 'as an object'; Json = "{`"value`":$valid}" }
            }
            @{ Param = 'Fqdn'; Case = 'with a trailing line feed (a $-anchored pattern would take it)'; Json = '"exch01.corp.example\n"' }
            @{ Param = 'Fqdn'; Case = 'as an IP address'; Json = '"10.0.0.5"' }
            @{ Param = 'ServiceAccount'; Case = 'with a trailing line feed'; Json = '"CORP\\monosync_svc\n"' }
            @{ Param = 'ServiceAccount'; Case = 'with a zero-width space'; Json = '"CORP\\monosync_svc\u200b"' }
        ) {
            Use-SnapshotHost -Profile onboarded | Out-Null
            $values = [ordered]@{ Fqdn = '"exch01.corp.example"'; ServiceAccount = '"CORP\\monosync_svc"' }
            $values[$Param] = $Json
            $members = @(foreach ($key in $values.Keys) { "`"$key`":$($values[$key])" }) -join ','
            $envelope = Invoke-Snapshot -RequestJson "{`"mode`":`"plan`",`"params`":{$members},`"rollbackTo`":null}"
            $envelope.ok | Should -BeFalse
            $envelope.error.code | Should -Be 'InvalidInput'
            Get-SeamCall -Name Get-WinComputerSystem | Should -BeNullOrEmpty
        }

        It 'refuses a request whose <Case>' -ForEach @(
            @{ Case = 'params are missing'; Json = '{"mode":"plan","rollbackTo":null}' }
            @{ Case = 'params are null'; Json = '{"mode":"plan","params":null,"rollbackTo":null}' }
            @{ Case = 'params are an empty array'; Json = '{"mode":"plan","params":[],"rollbackTo":null}' }
            @{ Case = 'params are a one-element array'; Json = '{"mode":"plan","params":[{"Fqdn":"exch01.corp.example","ServiceAccount":"CORP\\monosync_svc"}],"rollbackTo":null}' }
            @{ Case = 'params lack ServiceAccount'; Json = '{"mode":"plan","params":{"Fqdn":"exch01.corp.example"},"rollbackTo":null}' }
            @{ Case = 'params hold a member the script does not take'; Json = '{"mode":"plan","params":{"Fqdn":"exch01.corp.example","ServiceAccount":"CORP\\monosync_svc","RuleName":"x"},"rollbackTo":null}' }
            @{ Case = 'mode is missing'; Json = '{"params":{"Fqdn":"exch01.corp.example","ServiceAccount":"CORP\\monosync_svc"},"rollbackTo":null}' }
            @{ Case = 'mode has a zero-width space'; Json = '{"mode":"plan\u200b","params":{"Fqdn":"exch01.corp.example","ServiceAccount":"CORP\\monosync_svc"},"rollbackTo":null}' }
            @{ Case = 'mode is an array'; Json = '{"mode":["plan"],"params":{"Fqdn":"exch01.corp.example","ServiceAccount":"CORP\\monosync_svc"},"rollbackTo":null}' }
            @{ Case = 'document is an array'; Json = '[{"mode":"plan","params":{"Fqdn":"exch01.corp.example","ServiceAccount":"CORP\\monosync_svc"},"rollbackTo":null}]' }
        ) {
            Use-SnapshotHost -Profile onboarded | Out-Null
            $envelope = Invoke-Snapshot -RequestJson $Json
            $envelope.ok | Should -BeFalse
            $envelope.error.code | Should -Be 'InvalidInput'
            Get-SeamCall -Name Get-WinComputerSystem | Should -BeNullOrEmpty
        }

        It 'refuses a hostile -ServiceAccount given by hand at parameter binding' {
            $path = Save-StepScript -Name 'Get-OnboardingSnapshot' -Path (Join-Path -Path $TestDrive -ChildPath 'Get-OnboardingSnapshot.ps1')
            foreach ($bad in "CORP\x'; Remove-Item C:\ -Recurse; '", "CORP\monosync_svc`n") {
                $thrown = $null
                try { & $path -Fqdn $script:Fqdn -ServiceAccount $bad } catch { $thrown = $_ }
                $thrown.FullyQualifiedErrorId | Should -BeLike 'ParameterArgumentValidationError*'
            }
        }
    }

    Context 'errors as Windows produces them' {
        It '<Seam> failing with <Case> -> <Type>' -ForEach @(
            @{ Seam = 'Get-WinFirewallRule'; Case = 'access denied (the old script reported no rule)'; Type = 'AccessDenied'; Throw = { New-NetSecurityError -Kind AccessDenied -Command 'Get-NetFirewallRule' } }
            @{ Seam = 'Get-WinFirewallRule'; Case = 'the firewall service stopped (1753)'; Type = 'FirewallServiceStopped'; Throw = { New-NetSecurityError -Kind ServiceStopped -Command 'Get-NetFirewallRule' } }
            @{ Seam = 'Get-WinWsmanItem'; Case = 'not elevated'; Type = 'AccessDenied'; Throw = { New-WsmanProviderError -Command GetItem -Message $WinText.AccessDeniedElevation } }
            @{ Seam = 'Get-WinRegistryValue'; Case = 'the policy key unreadable (not taken for no policy)'; Type = 'AccessDenied'; Throw = { New-MethodInvocationError -Method GetValue -ArgumentCount 3 -InnerException (New-Object -TypeName System.Security.SecurityException -ArgumentList $WinText.RegistryAccessDenied) } }
            @{ Seam = 'Get-WinComputerSystem'; Case = 'WMI access denied (HRESULT 0x80070005)'; Type = 'AccessDenied'; Throw = { New-CimError -ErrorId 'HRESULT 0x80070005,Microsoft.Management.Infrastructure.CimCmdlets.GetCimInstanceCommand' } }
            @{ Seam = 'Get-WinPSSessionConfiguration'; Case = 'not elevated'; Type = 'AccessDenied'; Throw = { New-ElevationError } }
            @{ Seam = 'Get-WinWsmanListener'; Case = 'WinRM gone between two reads (0x80338012)'; Type = 'WinRMUnavailable'; Throw = { New-WsmanFaultError -Code 2150858770 -Message $WinText.WinRMCannotConnect -Command 'Microsoft.WSMan.Management.GetWSManInstanceCommand' -Machine 'localhost' } }
            @{ Seam = 'Get-WinLocalGroupMemberSid'; Case = 'ADSI access denied (0x80070005)'; Type = 'AccessDenied'; Throw = { New-AdsiError -HResult -2147024891 -Message $WinText.AdsiAccessDenied -Method 'Invoke' } }
            @{ Seam = 'Get-WinOperatingSystem'; Case = 'WMI access denied (Windows System Error 5)'; Type = 'AccessDenied'; Throw = { New-CimError -ErrorId 'Windows System Error 5,Microsoft.Management.Infrastructure.CimCmdlets.GetCimInstanceCommand' } }
        ) {
            Use-SnapshotHost -Profile onboarded | Out-Null
            $record = & $Throw
            Set-SeamFake -Name $Seam -ScriptBlock { throw $record }.GetNewClosure()
            $envelope = Invoke-Snapshot (New-SnapshotRequest)
            $envelope.ok | Should -BeFalse
            Get-FailureType -Code $envelope.error.code -Class $envelope.error.class | Should -Be $Type
        }

        It 'a rule that does not exist (the CDXML not-found record) is no rule, not a failure' {
            Use-SnapshotHost -Profile onboarded | Out-Null
            Set-SeamFake -Name Get-WinFirewallRule -ScriptBlock { param($Name) throw (New-NetSecurityError -Kind NotFound -Command 'Get-NetFirewallRule' -Name $Name) }
            $envelope = Invoke-Snapshot (New-SnapshotRequest)
            $envelope.ok | Should -BeTrue
            (Get-RawSnapshot).firewall.rule | Should -BeNullOrEmpty
        }

        It 'an account no domain controller knows (IdentityNotMappedException) is no member, with a warning' {
            Use-SnapshotHost -Profile onboarded | Out-Null
            Set-SeamFake -Name Resolve-WinAccountSid -ScriptBlock { param($Name) throw (New-IdentityNotMappedError) }
            $envelope = Invoke-Snapshot (New-SnapshotRequest)
            $envelope.ok | Should -BeTrue
            (Get-RawSnapshot).remoteManagement.member | Should -BeFalse
            ($envelope.warnings -join ' ') | Should -BeLike '*does not resolve*'
        }

        It 'the domain unreachable while resolving the account fails the snapshot (not taken for no member)' {
            Use-SnapshotHost -Profile onboarded | Out-Null
            $record = New-MethodInvocationError -Method Translate -InnerException (New-Object -TypeName System.SystemException -ArgumentList 'The trust relationship between this workstation and the primary domain failed.')
            Set-SeamFake -Name Resolve-WinAccountSid -ScriptBlock { param($Name) throw $record }.GetNewClosure()
            $envelope = Invoke-Snapshot (New-SnapshotRequest)
            $envelope.ok | Should -BeFalse
            Get-FailureType -Code $envelope.error.code -Class $envelope.error.class | Should -Be 'PowerShellError'
        }
    }

    It 'prints only envelopes that match domain/envelope.ts and the step''s state schema (zod, via node)' {
        Assert-StepEnvelopeContract | Should -BeGreaterThan 100
    }
}
