# Pester 5 tests of Test-MonosyncConnectivity.ps1 in real pwsh; nothing here needs Windows. Run by
# `npm run test:ps` and `npm test` (scripts/test-ps.ts).
#
# The script runs exactly as the runner sends it (its standalone text with powershell/MonosyncCommon.ps1 in
# place, one script block in a fresh module, the request as base64 JSON), always under Set-StrictMode
# -Version Latest, with every Windows operation replaced through the seam (test/powershell/SeamTestKit.psm1).
# It runs on the worker, so LabSeam binds the seam to a worker that carries its view of the network (the
# Exchange host as lab/model.ts holds it, its AD object, the worker's identity and the clock); single seam
# functions are replaced by fakes that throw the error records Windows really produces. One test runs the
# real TLS probe of the seam against a TLS server on loopback. The last test checks every envelope printed
# here against the zod schemas the activities use.

BeforeAll {
    Import-Module -Name (Join-Path -Path $PSScriptRoot -ChildPath '../../test/powershell/SeamTestKit.psm1') -Force
    Import-Module -Name (Join-Path -Path $PSScriptRoot -ChildPath '../../test/powershell/LabSeam.psm1') -Force
    $script:Fqdn = 'exch01.corp.example'
    $script:Account = 'CORP\monosync_svc'
    # The SID the lab gives the service account (an onboarded host holds it in Remote Management Users).
    $script:AccountSid = [string](New-LabHost -Profile onboarded).remoteManagementUsers.members[0].sid

    function New-ConnRequest {
        param([string]$Mode = 'plan', $Fqdn = $script:Fqdn, $ServiceAccount = $script:Account, $Domain = 'corp.example', $CheckSecondHop = $true, $RollbackTo = $null)
        return [ordered]@{ mode = $Mode; params = [ordered]@{ Fqdn = $Fqdn; ServiceAccount = $ServiceAccount; Domain = $Domain; CheckSecondHop = $CheckSecondHop }; rollbackTo = $RollbackTo }
    }

    function Invoke-ConnAs {
        # As the runner calls it when the worker holds the service account's credential (powershell/command.ts):
        # -ServiceCredential next to the request, never inside it.
        param($Request, [System.Management.Automation.PSCredential]$Credential)
        return (Invoke-StepEnvelope -Name 'Test-MonosyncConnectivity' -Request $Request -Arguments @{ ServiceCredential = $Credential })
    }

    function New-TestCredential {
        param([string]$UserName = $script:Account)
        return (New-Object -TypeName System.Management.Automation.PSCredential -ArgumentList $UserName, (ConvertTo-SecureString -String 'not-a-real-password' -AsPlainText -Force))
    }

    function Invoke-Conn {
        param($Request, [string]$RequestJson)
        return (Invoke-StepEnvelope -Name 'Test-MonosyncConnectivity' -Request $Request -RequestJson $RequestJson)
    }

    function Use-ConnNetwork {
        # The worker, bound to the seam, reaching one Exchange host of a lab profile; returned so a test can
        # change the host (its changes reach the fakes) and see that nothing else changes it.
        param([string]$Profile = 'onboarded', [bool]$Delegates = $true, [string]$Identity = $script:Account)
        $target = New-LabHost -Profile $Profile
        $computer = [pscustomobject]@{ samAccountName = 'EXCH01$'; trustedForDelegation = $Delegates; allowedToDelegateTo = [object[]]@() }
        $worker = [pscustomobject]@{
            computerName = 'MONOSYNC01'
            fqdn         = 'monosync01.corp.example'
            trustedHosts = [pscustomobject]@{ value = ''; policyControlled = $false }
            addresses    = [object[]]@('10.0.0.10')
            identity     = $Identity
            identitySid  = $script:AccountSid
            domain       = 'corp.example'
            now          = [datetime]::UtcNow.ToString('o')
            network      = [pscustomobject]@{
                hosts     = [pscustomobject]@{ 'exch01.corp.example' = $target }
                computers = [pscustomobject]@{ 'EXCH01$' = $computer }
            }
        }
        Use-LabSeam -Machine $worker
        return $worker
    }

    function Get-HttpsListener {
        param($Worker)
        return @($Worker.network.hosts.'exch01.corp.example'.listeners | Where-Object { $_.transport -eq 'HTTPS' })[0]
    }

    function Get-ProbeCall {
        # The calls themselves (none: nothing), for `Get-ProbeCall | Should -BeNullOrEmpty`.
        Get-SeamCall | Where-Object { $_.Name -in 'Open-WinTlsStream', 'Invoke-WinTlsHandshake', 'Get-WinTlsRemoteCertificate', 'Test-WinWsmanHttps', 'Test-WinRemoteSession', 'Test-WinRemoteSysvol', 'Clear-WinKerberosTicket' }
    }
}

AfterAll {
    Remove-SeamFake
}

Describe 'Test-MonosyncConnectivity.ps1' {
    It 'does every Windows operation through the seam' {
        Get-StepSeamViolation -Name 'Test-MonosyncConnectivity' | Should -BeNullOrEmpty
        $commands = (Get-StepScriptCommand -Name 'Test-MonosyncConnectivity').Commands
        foreach ($seam in 'Get-WinCurrentIdentityName', 'Open-WinTlsStream', 'Invoke-WinTlsHandshake', 'Get-WinTlsRemoteCertificate', 'Test-WinWsmanHttps', 'Test-WinRemoteSession', 'Test-WinRemoteSysvol', 'Clear-WinKerberosTicket', 'Wait-WinSeconds') {
            $commands | Should -Contain $seam
        }
        foreach ($direct in 'Test-WSMan', 'Invoke-Command', 'Test-Path', 'klist', 'klist.exe', 'Start-Sleep') { $commands | Should -Not -Contain $direct }
    }

    Context 'plan and apply on a lab network (the same read-only test)' {
        It 'an onboarded host passes in <Mode>: HTTPS answers, the served thumbprint, the second hop' -ForEach @(
            @{ Mode = 'plan' }
            @{ Mode = 'apply' }
        ) {
            $worker = Use-ConnNetwork -Profile onboarded
            $before = ConvertTo-Json -InputObject $worker -Depth 20 -Compress
            $envelope = Invoke-Conn (New-ConnRequest -Mode $Mode)
            $envelope.ok | Should -BeTrue
            $envelope.mode | Should -Be $Mode
            $envelope.compliant | Should -BeTrue
            $envelope.changed | Should -BeFalse
            $envelope.target | Should -Be $script:Fqdn
            $listener = Get-HttpsListener -Worker $worker
            $envelope.before.wsmanHttps | Should -BeTrue
            $envelope.before.kerberosSecondHop | Should -BeTrue
            $envelope.before.servedThumbprint | Should -Be $listener.thumbprint
            $envelope.before.sessionAsServiceAccount | Should -BeTrue
            ($envelope.after | ConvertTo-Json -Compress) | Should -Be ($envelope.before | ConvertTo-Json -Compress)
            $certificate = @($worker.network.hosts.'exch01.corp.example'.certificates | Where-Object { $_.thumbprint -eq $listener.thumbprint })[0]
            # As the lab writes dates (JavaScript's toISOString), read from the printed text: ConvertFrom-Json
            # would turn it into a DateTime.
            (Get-LastStepOutput)[0] | Should -BeLike "*`"servedNotAfter`":`"$($certificate.notAfter)`"*"
            $certificate.notAfter | Should -Match '^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$'
            $envelope.evidence.identity | Should -Be $script:Account
            $envelope.evidence.accountProof | Should -Be 'identity'
            $envelope.evidence.secondHopAttempts | Should -Be 1
            $envelope.evidence.secondHopProbe | Should -Be 'Test-Path \\corp.example\SYSVOL in a session on exch01.corp.example as CORP\monosync_svc'
            $envelope.evidence.checkedSecondHop | Should -BeTrue
            $envelope.evidence.tlsError | Should -BeNullOrEmpty
            $envelope.evidence.wsmanError | Should -BeNullOrEmpty
            $envelope.evidence.secondHopError | Should -BeNullOrEmpty
            # The envelope carries warnings as a JSON array, empty here.
            (Get-LastStepOutput)[0] | Should -Match '"warnings":\[\]'
            $tls = (Get-SeamCall -Name Open-WinTlsStream)[0].Parameters
            $tls.HostName | Should -Be $script:Fqdn
            $tls.Port | Should -Be 5986
            (Get-SeamCall -Name Invoke-WinTlsHandshake)[0].Parameters.HostName | Should -Be $script:Fqdn -Because 'the handshake names the server (SNI)'
            (Get-SeamCall -Name Test-WinWsmanHttps)[0].Parameters.ComputerName | Should -Be $script:Fqdn
            (Get-SeamCall -Name Test-WinRemoteSysvol)[0].Parameters.ComputerName | Should -Be $script:Fqdn
            (Get-SeamCall -Name Test-WinRemoteSession)[0].Parameters.ComputerName | Should -Be $script:Fqdn
            (ConvertTo-Json -InputObject $worker -Depth 20 -Compress) | Should -Be $before -Because 'the test only reads'
        }

        It 'does not probe the second hop when it is not asked for (the TLS check after a listener change)' {
            Use-ConnNetwork -Profile onboarded -Delegates $false | Out-Null
            $envelope = Invoke-Conn (New-ConnRequest -CheckSecondHop $false)
            $envelope.compliant | Should -BeTrue
            $envelope.before.wsmanHttps | Should -BeTrue
            $envelope.before.kerberosSecondHop | Should -BeFalse
            $envelope.evidence.checkedSecondHop | Should -BeFalse
            Get-SeamCall -Name Test-WinRemoteSysvol | Should -BeNullOrEmpty
        }

        It '<Case>: wsmanHttps false, tlsError <Tls>, wsmanError <Wsman>, no second hop probed' -ForEach @(
            @{ Case = 'a fresh host (no HTTPS listener, no rule for 5986)'; Profile = 'fresh'; Arrange = {}; Tls = '10060'; Wsman = '0x80338126'; Served = $false }
            @{ Case = 'the firewall drops the worker'; Profile = 'onboarded'; Arrange = { param($h) $h.firewall.rules = [object[]]@() }; Tls = '10060'; Wsman = '0x80338126'; Served = $false }
            @{ Case = 'a GPO turns local firewall rules off'; Profile = 'onboarded'; Arrange = { param($h) $h.firewall.localRulesApply = $false }; Tls = '10060'; Wsman = '0x80338126'; Served = $false }
            @{ Case = 'WinRM stopped'; Profile = 'onboarded'; Arrange = { param($h) $h.winrm.status = 'Stopped' }; Tls = '10061'; Wsman = '0x80338012'; Served = $false }
            @{ Case = 'the HTTPS listener disabled'; Profile = 'onboarded'; Arrange = { param($h) @($h.listeners | Where-Object { $_.transport -eq 'HTTPS' })[0].enabled = $false }; Tls = '10061'; Wsman = '0x80338012'; Served = $false }
            @{ Case = 'the listener certificate without its private key'; Profile = 'onboarded'; Arrange = { param($h) $t = @($h.listeners | Where-Object { $_.transport -eq 'HTTPS' })[0].thumbprint; @($h.certificates | Where-Object { $_.thumbprint -eq $t })[0].hasPrivateKey = $false }; Tls = 'TlsHandshakeFailed'; Wsman = '0x80338012'; Served = $false }
            @{ Case = 'the listener certificate for another name'; Profile = 'onboarded'; Arrange = { param($h) @($h.listeners | Where-Object { $_.transport -eq 'HTTPS' })[0].thumbprint = @($h.certificates | Where-Object { $_.hasPrivateKey -and @($_.dnsNames) -notcontains 'exch01.corp.example' -and $_.subject -notlike '*exch01.corp.example*' })[0].thumbprint }; Tls = $null; Wsman = '12175'; Served = $true }
            @{ Case = 'the listener certificate expired'; Profile = 'onboarded'; Arrange = { param($h) $t = @($h.listeners | Where-Object { $_.transport -eq 'HTTPS' })[0].thumbprint; @($h.certificates | Where-Object { $_.thumbprint -eq $t })[0].notAfter = [datetime]::UtcNow.AddDays(-1).ToString('o') }; Tls = $null; Wsman = '12175'; Served = $true }
        ) {
            $worker = Use-ConnNetwork -Profile $Profile
            & $Arrange $worker.network.hosts.'exch01.corp.example'
            $envelope = Invoke-Conn (New-ConnRequest -Mode apply)
            $envelope.ok | Should -BeTrue
            $envelope.compliant | Should -BeFalse
            $envelope.changed | Should -BeTrue -Because 'a failed check needs attention'
            $envelope.before.wsmanHttps | Should -BeFalse
            $envelope.before.kerberosSecondHop | Should -BeFalse
            $envelope.evidence.tlsError | Should -Be $Tls
            $envelope.evidence.wsmanError | Should -Be $Wsman
            if ($Served) { $envelope.before.servedThumbprint | Should -Match '^[0-9A-F]{40}$' } else { $envelope.before.servedThumbprint | Should -BeNullOrEmpty }
            Get-SeamCall -Name Test-WinRemoteSysvol | Should -BeNullOrEmpty
            @($envelope.warnings).Count | Should -BeGreaterThan 0
        }

        It 'second hop <Case>: session <Session> (sessionError <Code>), kerberosSecondHop <Hop>' -ForEach @(
            @{ Case = 'to a computer object not trusted for delegation'; Delegates = $false; Arrange = {}; Session = $true; Hop = $false; Code = $null }
            @{ Case = 'for an account not in Remote Management Users'; Delegates = $true; Arrange = { param($h) $h.remoteManagementUsers.members = [object[]]@() }; Session = $false; Hop = $false; Code = '5' }
            @{ Case = 'through an endpoint that denies network logons'; Delegates = $true; Arrange = { param($h) $h.sessionConfiguration.networkDenied = $true }; Session = $false; Hop = $false; Code = '5' }
            @{ Case = 'through an endpoint whose ACL leaves out the group'; Delegates = $true; Arrange = { param($h) $h.sessionConfiguration.allowsRemoteManagementUsers = $false }; Session = $false; Hop = $false; Code = '5' }
        ) {
            $worker = Use-ConnNetwork -Profile onboarded -Delegates $Delegates
            & $Arrange $worker.network.hosts.'exch01.corp.example'
            $envelope = Invoke-Conn (New-ConnRequest)
            $envelope.ok | Should -BeTrue
            $envelope.before.wsmanHttps | Should -BeTrue
            $envelope.before.kerberosSecondHop | Should -Be $Hop
            $envelope.before.sessionAsServiceAccount | Should -Be $Session
            $envelope.evidence.sessionError | Should -Be $Code
            $envelope.evidence.secondHopError | Should -BeNullOrEmpty
            if (-not $Session) { Get-SeamCall -Name Test-WinRemoteSysvol | Should -BeNullOrEmpty -Because 'no hop without a session' }
            $envelope.compliant | Should -BeFalse
            # One problem, one warning: still a JSON array (a one-element array must not become a string).
            $warnings = (ConvertFrom-Json -InputObject (Get-LastStepOutput)[0]).warnings
            ($warnings -is [object[]]) | Should -BeTrue
            $warnings.Count | Should -Be 1
        }

        It 'running as another identity without the account''s credential: membership not proven, and it says what to set' {
            Use-ConnNetwork -Profile onboarded -Identity 'CORP\someone_else' | Out-Null
            $envelope = Invoke-Conn (New-ConnRequest)
            $envelope.ok | Should -BeTrue
            $envelope.evidence.identity | Should -Be 'CORP\someone_else'
            $envelope.evidence.accountProof | Should -BeNullOrEmpty
            $envelope.before.wsmanHttps | Should -BeTrue
            $envelope.before.sessionAsServiceAccount | Should -BeNullOrEmpty -Because 'a session as the worker (an admin) would prove nothing about CORP\monosync_svc'
            $envelope.before.kerberosSecondHop | Should -BeFalse
            $envelope.compliant | Should -BeFalse
            @($envelope.warnings) | Should -Be @('membership of CORP\monosync_svc in Remote Management Users was not proven: this worker runs as CORP\someone_else and has no credential for CORP\monosync_svc (set FLEET_SERVICE_ACCOUNT_USER and FLEET_SERVICE_ACCOUNT_PASSWORD_FILE on the worker, or run the worker as that account)')
            Get-SeamCall -Name Test-WinRemoteSession | Should -BeNullOrEmpty
            Get-SeamCall -Name Test-WinRemoteSysvol | Should -BeNullOrEmpty
        }

        It 'does not warn when the service account is given as <Account> and the token says CORP\monosync_svc' -ForEach @(
            @{ Account = 'monosync_svc@corp.example' }
            @{ Account = 'corp\MONOSYNC_SVC' }
        ) {
            Use-ConnNetwork -Profile onboarded | Out-Null
            $envelope = Invoke-Conn (New-ConnRequest -ServiceAccount $Account)
            $envelope.ok | Should -BeTrue
            $envelope.warnings | Should -BeNullOrEmpty
        }
    }

    Context 'acting as Monosync''s service account, not as the worker' {
        It 'with the account''s credential from the worker, every probe acts as that account (a worker that is an admin proves nothing)' {
            Use-ConnNetwork -Profile onboarded -Identity 'CORP\svc_worker' | Out-Null
            $envelope = Invoke-ConnAs -Request (New-ConnRequest) -Credential (New-TestCredential)
            $envelope.ok | Should -BeTrue
            $envelope.compliant | Should -BeTrue
            $envelope.evidence.identity | Should -Be 'CORP\svc_worker'
            $envelope.evidence.accountProof | Should -Be 'credential'
            $envelope.before.sessionAsServiceAccount | Should -BeTrue
            foreach ($seam in 'Test-WinWsmanHttps', 'Test-WinRemoteSession', 'Test-WinRemoteSysvol') {
                (Get-SeamCall -Name $seam)[0].Parameters.ConnectAs.Credential.UserName | Should -Be $script:Account -Because "$seam acts as the service account"
            }
            Get-SeamCall -Name Clear-WinKerberosTicket | Should -BeNullOrEmpty -Because 'a credential given explicitly gets fresh tickets; the worker''s own stay'
            $envelope.warnings | Should -BeNullOrEmpty
            ((Get-LastStepOutput) -join '') | Should -Not -BeLike '*not-a-real-password*'
        }

        It 'a credential for another account than the fleet''s serviceAccount proves nothing, and says so' {
            Use-ConnNetwork -Profile onboarded -Identity 'CORP\svc_worker' | Out-Null
            $envelope = Invoke-ConnAs -Request (New-ConnRequest) -Credential (New-TestCredential -UserName 'CORP\someone_else')
            $envelope.evidence.accountProof | Should -BeNullOrEmpty
            $envelope.before.sessionAsServiceAccount | Should -BeNullOrEmpty
            @($envelope.warnings)[0] | Should -BeLike "the worker's credential is for CORP\someone_else, not CORP\monosync_svc*"
            Get-SeamCall -Name Test-WinRemoteSession | Should -BeNullOrEmpty
        }

        It 'the session refused to the account is a finding: not in Remote Management Users, no hop probed' {
            Use-ConnNetwork -Profile onboarded -Identity 'CORP\svc_worker' | Out-Null
            $record = New-RemotingTransportError -ErrorCode 5 -Text 'Access is denied.' -Reason AccessDenied
            Set-SeamFake -Name Test-WinRemoteSession -ScriptBlock { param($ComputerName, $ConnectAs) throw $record }.GetNewClosure()
            $envelope = Invoke-ConnAs -Request (New-ConnRequest) -Credential (New-TestCredential)
            $envelope.ok | Should -BeTrue
            $envelope.before.sessionAsServiceAccount | Should -BeFalse
            $envelope.evidence.sessionError | Should -Be '5'
            $envelope.compliant | Should -BeFalse
            Get-SeamCall -Name Test-WinRemoteSysvol | Should -BeNullOrEmpty
        }

        It 'reads the SYSVOL of the domain passed in, never $env:USERDNSDOMAIN (empty in a network logon)' {
            Use-ConnNetwork -Profile onboarded | Out-Null
            $saved = $env:USERDNSDOMAIN
            try {
                $env:USERDNSDOMAIN = 'WRONG.EXAMPLE'
                $envelope = Invoke-Conn (New-ConnRequest -Domain 'corp.example')
            } finally {
                $env:USERDNSDOMAIN = $saved
            }
            $envelope.before.kerberosSecondHop | Should -BeTrue
            (Get-SeamCall -Name Test-WinRemoteSysvol)[0].Parameters.Domain | Should -Be 'corp.example'
        }

        It 'purges Kerberos tickets before each attempt and retries with backoff until the delegation flag has replicated' {
            Use-ConnNetwork -Profile onboarded | Out-Null
            # Not delegated for two attempts (the flag still replicating), then delegated.
            $answers = New-Object -TypeName 'System.Collections.Generic.Queue[bool]'
            foreach ($answer in $false, $false, $true) { $answers.Enqueue($answer) }
            Set-SeamFake -Name Test-WinRemoteSysvol -ScriptBlock { param($ComputerName, $Domain, $ConnectAs) $answers.Dequeue() }.GetNewClosure()
            $envelope = Invoke-Conn (New-ConnRequest)
            $envelope.before.kerberosSecondHop | Should -BeTrue
            $envelope.compliant | Should -BeTrue
            $envelope.evidence.secondHopAttempts | Should -Be 3
            $calls = @(Get-SeamCall | Where-Object { $_.Name -in 'Clear-WinKerberosTicket', 'Test-WinRemoteSysvol', 'Wait-WinSeconds' } | ForEach-Object { $_.Name })
            $calls | Should -Be @('Clear-WinKerberosTicket', 'Test-WinRemoteSysvol', 'Wait-WinSeconds', 'Clear-WinKerberosTicket', 'Test-WinRemoteSysvol', 'Wait-WinSeconds', 'Clear-WinKerberosTicket', 'Test-WinRemoteSysvol')
            @(Get-SeamCall -Name Wait-WinSeconds | ForEach-Object { $_.Parameters.Seconds }) | Should -Be @(5, 10)
        }

        It 'gives up after four attempts (35 s of backoff) and names what it tested' {
            Use-ConnNetwork -Profile onboarded -Delegates $false | Out-Null
            $envelope = Invoke-Conn (New-ConnRequest)
            $envelope.before.kerberosSecondHop | Should -BeFalse
            $envelope.evidence.secondHopAttempts | Should -Be 4
            @(Get-SeamCall -Name Wait-WinSeconds | ForEach-Object { $_.Parameters.Seconds }) | Should -Be @(5, 10, 20)
            @(Get-SeamCall -Name Clear-WinKerberosTicket).Count | Should -Be 4
            $envelope.evidence.secondHopProbe | Should -Be 'Test-Path \\corp.example\SYSVOL in a session on exch01.corp.example as CORP\monosync_svc'
            @($envelope.warnings) | Should -Be @('the session on exch01.corp.example could not reach \\corp.example\SYSVOL as CORP\monosync_svc after 4 attempts: the server may not delegate it')
        }

        It 'does not retry a hop the server refused outright (access denied is not replication)' {
            Use-ConnNetwork -Profile onboarded | Out-Null
            $record = New-RemotingTransportError -ErrorCode 5 -Text 'Access is denied.' -Reason AccessDenied
            Set-SeamFake -Name Test-WinRemoteSysvol -ScriptBlock { param($ComputerName, $Domain, $ConnectAs) throw $record }.GetNewClosure()
            $envelope = Invoke-Conn (New-ConnRequest)
            $envelope.evidence.secondHopAttempts | Should -Be 1
            Get-SeamCall -Name Wait-WinSeconds | Should -BeNullOrEmpty
        }
    }

    Context 'a rollback is refused: a read-only step has nothing to undo' {
        It 'refuses rollback with rollbackTo <Case>, probing nothing' -ForEach @(
            @{ Case = 'missing from the request'; Json = '{"mode":"rollback","params":{"Fqdn":"exch01.corp.example","ServiceAccount":"CORP\\monosync_svc","CheckSecondHop":true}}' }
            @{ Case = 'null'; Json = '{"mode":"rollback","params":{"Fqdn":"exch01.corp.example","ServiceAccount":"CORP\\monosync_svc","CheckSecondHop":true},"rollbackTo":null}' }
            @{ Case = '{}'; Json = '{"mode":"rollback","params":{"Fqdn":"exch01.corp.example","ServiceAccount":"CORP\\monosync_svc","CheckSecondHop":true},"rollbackTo":{}}' }
            @{ Case = 'partial'; Json = '{"mode":"rollback","params":{"Fqdn":"exch01.corp.example","ServiceAccount":"CORP\\monosync_svc","CheckSecondHop":true},"rollbackTo":{"wsmanHttps":true}}' }
            @{ Case = 'as an empty array'; Json = '{"mode":"rollback","params":{"Fqdn":"exch01.corp.example","ServiceAccount":"CORP\\monosync_svc","CheckSecondHop":true},"rollbackTo":[]}' }
            @{ Case = 'as a one-element array of a state'; Json = '{"mode":"rollback","params":{"Fqdn":"exch01.corp.example","ServiceAccount":"CORP\\monosync_svc","CheckSecondHop":true},"rollbackTo":[{"wsmanHttps":true,"kerberosSecondHop":true,"servedThumbprint":null}]}' }
            @{ Case = 'hostile'; Json = '{"mode":"rollback","params":{"Fqdn":"exch01.corp.example","ServiceAccount":"CORP\\monosync_svc","CheckSecondHop":true},"rollbackTo":{"wsmanHttps":true,"kerberosSecondHop":true,"servedThumbprint":"x''; Remove-Item C:\\ -Recurse; ''"}}' }
            @{ Case = 'complete'; Json = '{"mode":"rollback","params":{"Fqdn":"exch01.corp.example","ServiceAccount":"CORP\\monosync_svc","CheckSecondHop":true},"rollbackTo":{"wsmanHttps":true,"kerberosSecondHop":true,"servedThumbprint":null}}' }
        ) {
            Use-ConnNetwork -Profile onboarded | Out-Null
            $envelope = Invoke-Conn -RequestJson $Json
            $envelope.ok | Should -BeFalse
            $envelope.mode | Should -Be 'rollback'
            $envelope.error.code | Should -Be 'InvalidInput'
            Get-FailureType -Code $envelope.error.code -Class $envelope.error.class | Should -Be 'InvalidInput'
            Get-ProbeCall | Should -BeNullOrEmpty
            Get-SeamCall -Name Get-WinCurrentIdentityName | Should -BeNullOrEmpty
        }

        It 'refuses a rollback by hand' {
            Use-ConnNetwork -Profile onboarded | Out-Null
            $path = Save-StepScript -Name 'Test-MonosyncConnectivity' -Path (Join-Path -Path $TestDrive -ChildPath 'Test-MonosyncConnectivity.ps1') -StrictMode $true
            $envelope = ConvertFrom-StepEnvelope -Script 'Test-MonosyncConnectivity' -Output @(& $path -Mode rollback -Fqdn $script:Fqdn)
            $envelope.error.code | Should -Be 'InvalidInput'
            Get-ProbeCall | Should -BeNullOrEmpty
            $good = ConvertFrom-StepEnvelope -Script 'Test-MonosyncConnectivity' -Output @(& $path -Fqdn $script:Fqdn -ServiceAccount $script:Account -Domain 'corp.example' -CheckSecondHop $false)
            $good.ok | Should -BeTrue
            $good.before.wsmanHttps | Should -BeTrue
        }
    }

    Context 'the script''s own validation refuses every hostile value' {
        It 'refuses <Param> <Shown> in <Mode> (from test/powershell-injection.test.ts)' -ForEach @(
            Import-Module -Name (Join-Path -Path $PSScriptRoot -ChildPath '../../test/powershell/SeamTestKit.psm1')
            foreach ($mode in 'plan', 'apply') {
                foreach ($hostile in Get-HostileValue) {
                    foreach ($param in 'Fqdn', 'ServiceAccount', 'Domain', 'CheckSecondHop') {
                        $valid = @{ Fqdn = 'exch01.corp.example'; ServiceAccount = 'CORP\monosync_svc'; Domain = 'corp.example'; CheckSecondHop = 'true' }[$param]
                        foreach ($value in @($hostile, "$valid$hostile", "$hostile$valid")) {
                            @{ Mode = $mode; Param = $param; Value = $value; Shown = (ConvertTo-Json -InputObject $value -Compress) }
                        }
                    }
                }
            }
        ) {
            Use-ConnNetwork -Profile onboarded | Out-Null
            $request = New-ConnRequest -Mode $Mode
            $request.params[$Param] = $Value
            $envelope = Invoke-Conn $request
            $envelope.ok | Should -BeFalse
            $envelope.error.code | Should -Be 'InvalidInput'
            Get-FailureType -Code $envelope.error.code -Class $envelope.error.class | Should -Be 'InvalidInput'
            Get-ProbeCall | Should -BeNullOrEmpty
        }

        It 'refuses <Param> <Case>' -ForEach @(
            # The value as JSON text, so that one-element and empty arrays and null reach the script as written.
            foreach ($param in 'Fqdn', 'ServiceAccount', 'Domain') {
                $valid = ConvertTo-Json -InputObject (@{ Fqdn = 'exch01.corp.example'; ServiceAccount = 'CORP\monosync_svc'; Domain = 'corp.example' }[$param]) -Compress
                @{ Param = $param; Case = 'null'; Json = 'null' }
                @{ Param = $param; Case = 'empty'; Json = '""' }
                @{ Param = $param; Case = 'as a one-element array'; Json = "[$valid]" }
                @{ Param = $param; Case = 'as an empty array'; Json = '[]' }
                @{ Param = $param; Case = 'as an array holding null'; Json = '[null]' }
                @{ Param = $param; Case = 'as a number'; Json = '1' }
                @{ Param = $param; Case = 'as an object'; Json = "{`"value`":$valid}" }
            }
            @{ Param = 'Fqdn'; Case = 'with a trailing line feed (a $-anchored pattern would take it)'; Json = '"exch01.corp.example\n"' }
            @{ Param = 'Fqdn'; Case = 'as an IP address (Kerberos needs the name)'; Json = '"10.0.0.5"' }
            @{ Param = 'Fqdn'; Case = 'with a zero-width space'; Json = '"exch01.corp.example\u200b"' }
            @{ Param = 'ServiceAccount'; Case = 'with a trailing line feed'; Json = '"CORP\\monosync_svc\n"' }
            @{ Param = 'CheckSecondHop'; Case = 'as the text false ([bool] would make it true)'; Json = '"false"' }
            @{ Param = 'CheckSecondHop'; Case = 'as the text true'; Json = '"true"' }
            @{ Param = 'CheckSecondHop'; Case = 'null'; Json = 'null' }
            @{ Param = 'CheckSecondHop'; Case = 'as 0'; Json = '0' }
            @{ Param = 'CheckSecondHop'; Case = 'as a one-element array'; Json = '[true]' }
            @{ Param = 'CheckSecondHop'; Case = 'as an empty array'; Json = '[]' }
        ) {
            Use-ConnNetwork -Profile onboarded | Out-Null
            $values = [ordered]@{ Fqdn = '"exch01.corp.example"'; ServiceAccount = '"CORP\\monosync_svc"'; Domain = '"corp.example"'; CheckSecondHop = 'true' }
            $values[$Param] = $Json
            $members = @(foreach ($key in $values.Keys) { "`"$key`":$($values[$key])" }) -join ','
            $envelope = Invoke-Conn -RequestJson "{`"mode`":`"apply`",`"params`":{$members},`"rollbackTo`":null}"
            $envelope.ok | Should -BeFalse
            $envelope.error.code | Should -Be 'InvalidInput'
            Get-ProbeCall | Should -BeNullOrEmpty
        }

        It 'refuses a request whose <Case>' -ForEach @(
            @{ Case = 'params are missing'; Json = '{"mode":"plan","rollbackTo":null}' }
            @{ Case = 'params are null'; Json = '{"mode":"plan","params":null,"rollbackTo":null}' }
            @{ Case = 'params are an empty array'; Json = '{"mode":"plan","params":[],"rollbackTo":null}' }
            @{ Case = 'params are a one-element array'; Json = '{"mode":"plan","params":[{"Fqdn":"exch01.corp.example","ServiceAccount":"CORP\\monosync_svc","CheckSecondHop":true}],"rollbackTo":null}' }
            @{ Case = 'params lack ServiceAccount'; Json = '{"mode":"plan","params":{"Fqdn":"exch01.corp.example","CheckSecondHop":true},"rollbackTo":null}' }
            @{ Case = 'params lack Domain'; Json = '{"mode":"plan","params":{"Fqdn":"exch01.corp.example","ServiceAccount":"CORP\\monosync_svc","CheckSecondHop":true},"rollbackTo":null}' }
            @{ Case = 'params lack CheckSecondHop'; Json = '{"mode":"plan","params":{"Fqdn":"exch01.corp.example","ServiceAccount":"CORP\\monosync_svc"},"rollbackTo":null}' }
            @{ Case = 'params hold a member the script does not take'; Json = '{"mode":"plan","params":{"Fqdn":"exch01.corp.example","ServiceAccount":"CORP\\monosync_svc","CheckSecondHop":true,"Port":5985},"rollbackTo":null}' }
            @{ Case = 'mode is missing'; Json = '{"params":{"Fqdn":"exch01.corp.example","ServiceAccount":"CORP\\monosync_svc","CheckSecondHop":true},"rollbackTo":null}' }
            @{ Case = 'mode is unknown'; Json = '{"mode":"destroy","params":{"Fqdn":"exch01.corp.example","ServiceAccount":"CORP\\monosync_svc","CheckSecondHop":true},"rollbackTo":null}' }
            @{ Case = 'mode has a zero-width space'; Json = '{"mode":"plan\u200b","params":{"Fqdn":"exch01.corp.example","ServiceAccount":"CORP\\monosync_svc","CheckSecondHop":true},"rollbackTo":null}' }
            @{ Case = 'mode is an array'; Json = '{"mode":["plan"],"params":{"Fqdn":"exch01.corp.example","ServiceAccount":"CORP\\monosync_svc","CheckSecondHop":true},"rollbackTo":null}' }
            @{ Case = 'document is an array'; Json = '[{"mode":"plan","params":{"Fqdn":"exch01.corp.example","ServiceAccount":"CORP\\monosync_svc","CheckSecondHop":true},"rollbackTo":null}]' }
        ) {
            Use-ConnNetwork -Profile onboarded | Out-Null
            $envelope = Invoke-Conn -RequestJson $Json
            $envelope.ok | Should -BeFalse
            $envelope.error.code | Should -Be 'InvalidInput'
            Get-ProbeCall | Should -BeNullOrEmpty
        }

        It 'refuses a hostile -Fqdn given by hand at parameter binding, before any of its code runs' {
            Use-ConnNetwork -Profile onboarded | Out-Null
            $path = Save-StepScript -Name 'Test-MonosyncConnectivity' -Path (Join-Path -Path $TestDrive -ChildPath 'Test-MonosyncConnectivity.ps1')
            foreach ($bad in "exch01.corp.example'; Remove-Item C:\ -Recurse; '", "exch01.corp.example`n") {
                $thrown = $null
                try { & $path -Fqdn $bad } catch { $thrown = $_ }
                $thrown.FullyQualifiedErrorId | Should -BeLike 'ParameterArgumentValidationError*'
            }
            Get-ProbeCall | Should -BeNullOrEmpty
        }
    }

    Context 'errors as Windows produces them' {
        It 'Test-WSMan failing with <Case>: wsmanError <Code> (<Type> if it were a failure), a finding, not a failure' -ForEach @(
            @{ Case = 'WinRM not answering (fault 0x80338012)'; Code = '0x80338012'; Type = 'WinRMUnavailable'; Throw = { New-WsmanFaultError -Code 2150858770 -Message $WinText.WinRMCannotConnect -Machine 'monosync01.corp.example' } }
            @{ Case = 'no answer in time (fault 0x80338126)'; Code = '0x80338126'; Type = 'WinRMUnavailable'; Throw = { New-WsmanFaultError -Code 2150859046 -Message $WinText.WinRMCannotComplete -Machine 'monosync01.corp.example' } }
            @{ Case = 'the certificate refused (fault 12175, unknown authority)'; Code = '12175'; Type = 'CertificateRejected'; Throw = { New-WsmanCertificateError -Problem $WinText.CertUnknownAuthority } }
            @{ Case = 'access denied (fault Code 5)'; Code = '5'; Type = 'AccessDenied'; Throw = { New-WsmanFaultError -Code 5 -Message $WinText.AccessDenied -Machine 'monosync01.corp.example' } }
            @{ Case = 'the Kerberos logon refused (fault Code 1326)'; Code = '1326'; Type = 'CredentialsRejected'; Throw = { New-WsmanFaultError -Code 1326 -Message 'WinRM cannot process the request. The following error with errorcode 0x8009030e occurred while using Kerberos authentication: The user name or password is incorrect. ' -Machine 'monosync01.corp.example' } }
        ) {
            Use-ConnNetwork -Profile onboarded | Out-Null
            $record = & $Throw
            Set-SeamFake -Name Test-WinWsmanHttps -ScriptBlock { param($ComputerName, $ConnectAs) throw $record }.GetNewClosure()
            $envelope = Invoke-Conn (New-ConnRequest)
            $envelope.ok | Should -BeTrue
            $envelope.before.wsmanHttps | Should -BeFalse
            $envelope.before.kerberosSecondHop | Should -BeFalse
            $envelope.before.servedThumbprint | Should -Match '^[0-9A-F]{40}$' -Because 'the handshake itself worked'
            $envelope.changed | Should -BeTrue
            $envelope.evidence.wsmanError | Should -Be $Code
            Get-FailureType -Code $envelope.evidence.wsmanError | Should -Be $Type
            ($envelope.warnings -join ' ') | Should -BeLike '*Test-WSMan*'
            Get-SeamCall -Name Test-WinRemoteSysvol | Should -BeNullOrEmpty
        }

        It 'the TLS probe failing with <Case>: tlsError <Code>' -ForEach @(
            @{ Case = 'no TCP answer (SocketException 10060 from the connect)'; Kind = 'Timeout'; Seam = 'Open-WinTlsStream'; Code = '10060' }
            @{ Case = 'the connection refused (SocketException 10061 in MethodInvocationException)'; Kind = 'Refused'; Seam = 'Open-WinTlsStream'; Code = '10061' }
            @{ Case = 'the connection reset during the handshake (10054 inside IOException)'; Kind = 'Reset'; Seam = 'Invoke-WinTlsHandshake'; Code = '10054' }
            @{ Case = 'the handshake dropped by the server'; Kind = 'Closed'; Seam = 'Invoke-WinTlsHandshake'; Code = 'TlsHandshakeFailed' }
        ) {
            Use-ConnNetwork -Profile onboarded | Out-Null
            $record = New-TlsProbeError -Kind $Kind
            Set-SeamFake -Name $Seam -ScriptBlock { throw $record }.GetNewClosure()
            $envelope = Invoke-Conn (New-ConnRequest)
            $envelope.ok | Should -BeTrue
            $envelope.evidence.tlsError | Should -Be $Code
            $envelope.before.servedThumbprint | Should -BeNullOrEmpty
            $envelope.evidence.servedNotAfter | Should -BeNullOrEmpty
            # The probes are independent: WinRM over HTTPS still answered.
            $envelope.before.wsmanHttps | Should -BeTrue
        }

        It 'the second-hop session refused with <Case>: secondHopError <Code> (<Type>)' -ForEach @(
            @{ Case = 'access denied (PSRemotingTransportException ErrorCode 5)'; Code = '5'; Type = 'AccessDenied'; Throw = { New-RemotingTransportError -ErrorCode 5 -Text 'Access is denied.' -Reason AccessDenied } }
            @{ Case = 'WinRM gone meanwhile (ErrorCode 0x80338012)'; Code = '0x80338012'; Type = 'WinRMUnavailable'; Throw = { New-RemotingTransportError -ErrorCode 2150858770 -Text $WinText.WinRMCannotConnect -Reason CannotConnect } }
            @{ Case = 'no answer in time (ErrorCode 0x80338126)'; Code = '0x80338126'; Type = 'WinRMUnavailable'; Throw = { New-RemotingTransportError -ErrorCode 2150859046 -Text $WinText.WinRMCannotComplete -Reason WinRMOperationTimeout } }
        ) {
            Use-ConnNetwork -Profile onboarded | Out-Null
            $record = & $Throw
            Set-SeamFake -Name Test-WinRemoteSysvol -ScriptBlock { param($ComputerName, $Domain, $ConnectAs) throw $record }.GetNewClosure()
            $envelope = Invoke-Conn (New-ConnRequest)
            $envelope.ok | Should -BeTrue
            $envelope.before.wsmanHttps | Should -BeTrue
            $envelope.before.kerberosSecondHop | Should -BeFalse
            $envelope.evidence.secondHopError | Should -Be $Code
            Get-FailureType -Code $envelope.evidence.secondHopError | Should -Be $Type
        }

        It 'takes only a single boolean true from the remote probe as a working hop, not <Case>' -ForEach @(
            @{ Case = 'nothing'; Answer = { } }
            @{ Case = 'false'; Answer = { $false } }
            @{ Case = 'a profile''s text before true'; Answer = { 'Welcome to EXCH01'; $true } }
            @{ Case = 'the text True'; Answer = { 'True' } }
        ) {
            Use-ConnNetwork -Profile onboarded | Out-Null
            $answer = $Answer
            Set-SeamFake -Name Test-WinRemoteSysvol -ScriptBlock { param($ComputerName, $Domain, $ConnectAs) & $answer }.GetNewClosure()
            $envelope = Invoke-Conn (New-ConnRequest)
            $envelope.ok | Should -BeTrue
            $envelope.before.kerberosSecondHop | Should -BeFalse
            $envelope.evidence.secondHopError | Should -BeNullOrEmpty
        }

        It 'fails with <Type> when the worker''s own token cannot be read (<Case>)' -ForEach @(
            @{ Case = 'SecurityException'; Type = 'AccessDenied'; Throw = { New-MethodInvocationError -Method GetCurrent -ArgumentCount 0 -InnerException (New-Object -TypeName System.Security.SecurityException -ArgumentList 'Requested registry access is not allowed.') } }
        ) {
            Use-ConnNetwork -Profile onboarded | Out-Null
            $record = & $Throw
            Set-SeamFake -Name Get-WinCurrentIdentityName -ScriptBlock { throw $record }.GetNewClosure()
            $envelope = Invoke-Conn (New-ConnRequest)
            $envelope.ok | Should -BeFalse
            Get-FailureType -Code $envelope.error.code -Class $envelope.error.class | Should -Be $Type
            Get-ProbeCall | Should -BeNullOrEmpty
        }
    }

    Context 'the seam''s TLS probe itself, against a TLS server on loopback' {
        BeforeAll {
            # The real Open-WinTlsStream, Invoke-WinTlsHandshake and Get-WinTlsRemoteCertificate of
            # powershell/MonosyncCommon.ps1 (no fake in the way), chained as the script chains them.
            Remove-SeamFake
            $text = [System.IO.File]::ReadAllText((Join-Path -Path $PSScriptRoot -ChildPath '../../powershell/MonosyncCommon.ps1'))
            $ast = [System.Management.Automation.Language.Parser]::ParseInput($text, [ref]$null, [ref]$null)
            $definitions = foreach ($name in 'Open-WinTlsStream', 'Invoke-WinTlsHandshake', 'Get-WinTlsRemoteCertificate') {
                $ast.Find({ param($node) $node -is [System.Management.Automation.Language.FunctionDefinitionAst] -and $node.Name -eq $name }.GetNewClosure(), $true).Extent.Text
            }
            $probe = @'
param($HostName, $Port)
$stream = Open-WinTlsStream -HostName $HostName -Port $Port
try {
    Invoke-WinTlsHandshake -Stream $stream -HostName $HostName
    Get-WinTlsRemoteCertificate -Stream $stream
} finally {
    $stream.Dispose()
}
'@
            $script:TlsProbe = [scriptblock]::Create("Set-StrictMode -Version Latest`n`$ErrorActionPreference = 'Stop'`n" + ($definitions -join "`n") + "`n& {`n$probe`n} @args")
            $rsa = [System.Security.Cryptography.RSA]::Create(2048)
            $csr = New-Object -TypeName System.Security.Cryptography.X509Certificates.CertificateRequest -ArgumentList 'CN=exch01.corp.example', $rsa, ([System.Security.Cryptography.HashAlgorithmName]::SHA256), ([System.Security.Cryptography.RSASignaturePadding]::Pkcs1)
            $script:ServerCertificate = $csr.CreateSelfSigned([DateTimeOffset]::UtcNow.AddDays(-1), [DateTimeOffset]::UtcNow.AddDays(30))
        }

        It 'returns the certificate a server presents, though no client would trust it (self-signed, another name)' {
            $listener = New-Object -TypeName System.Net.Sockets.TcpListener -ArgumentList ([ipaddress]::Loopback), 0
            $listener.Start()
            try {
                $server = Start-ThreadJob -ArgumentList $listener, $script:ServerCertificate -ScriptBlock {
                    param($listener, $certificate)
                    $client = $listener.AcceptTcpClient()
                    $tls = New-Object -TypeName System.Net.Security.SslStream -ArgumentList $client.GetStream()
                    try { $tls.AuthenticateAsServer($certificate) } finally { $tls.Dispose(); $client.Close() }
                }
                $served = & $script:TlsProbe -HostName 'localhost' -Port $listener.LocalEndpoint.Port
                $server | Wait-Job -Timeout 20 | Receive-Job | Out-Null
            } finally {
                $listener.Stop()
            }
            $served | Should -BeOfType [System.Security.Cryptography.X509Certificates.X509Certificate2]
            $served.Thumbprint | Should -Be $script:ServerCertificate.Thumbprint
            $served.NotAfter.ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ss') | Should -Be $script:ServerCertificate.NotAfter.ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ss')
        }

        It 'a server that drops the handshake: IOException or AuthenticationException, which the script reads as TlsHandshakeFailed' {
            $listener = New-Object -TypeName System.Net.Sockets.TcpListener -ArgumentList ([ipaddress]::Loopback), 0
            $listener.Start()
            $thrown = $null
            try {
                $server = Start-ThreadJob -ArgumentList $listener -ScriptBlock { param($listener) $listener.AcceptTcpClient().Close() }
                try { & $script:TlsProbe -HostName 'localhost' -Port $listener.LocalEndpoint.Port } catch { $thrown = $_ }
                $server | Wait-Job -Timeout 20 | Receive-Job | Out-Null
            } finally {
                $listener.Stop()
            }
            $thrown | Should -Not -BeNullOrEmpty
            $thrown.Exception | Should -BeOfType [System.Management.Automation.MethodInvocationException]
            $inner = $thrown.Exception.InnerException
            ($inner -is [System.IO.IOException] -or $inner -is [System.Security.Authentication.AuthenticationException]) | Should -BeTrue -Because "Get-ProbeError reads either as TlsHandshakeFailed (got $($inner.GetType().FullName))"
        }

        It 'a closed port: SocketException ConnectionRefused (10061) inside MethodInvocationException' {
            $listener = New-Object -TypeName System.Net.Sockets.TcpListener -ArgumentList ([ipaddress]::Loopback), 0
            $listener.Start()
            $port = $listener.LocalEndpoint.Port
            $listener.Stop()
            $thrown = $null
            try { & $script:TlsProbe -HostName 'localhost' -Port $port } catch { $thrown = $_ }
            $thrown.Exception | Should -BeOfType [System.Management.Automation.MethodInvocationException]
            $socket = $thrown.Exception.InnerException
            $socket | Should -BeOfType [System.Net.Sockets.SocketException]
            [int]$socket.SocketErrorCode | Should -Be 10061
        }
    }

    It 'prints only envelopes that match domain/envelope.ts and the step''s state schema (zod, via node)' {
        Assert-StepEnvelopeContract | Should -BeGreaterThan 100
    }
}
