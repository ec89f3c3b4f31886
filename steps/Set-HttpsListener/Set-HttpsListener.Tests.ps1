# Pester 5 tests of Set-HttpsListener.ps1 in real pwsh; nothing here needs Windows. Run by `npm run test:ps`
# and `npm test` (scripts/test-ps.ts).
#
# The script runs exactly as the runner sends it (its standalone text with powershell/MonosyncCommon.ps1 in
# place, one script block in a fresh module, the request as base64 JSON), always under Set-StrictMode
# -Version Latest, with every Windows operation replaced through the seam (test/powershell/SeamTestKit.psm1):
# LabSeam binds the seam to a lab host (host.listeners as Get-WSManInstance enumerates them, host.certificates
# as Cert:\LocalMachine\My holds them, with WinRM's own checks when a listener is written), and single seam
# functions are replaced by fakes that return what Windows returns (XmlElement listeners, real
# X509Certificate2 objects) or throw the error records Windows really produces. The last test checks every
# envelope printed here against the zod schemas the activities use.

BeforeAll {
    Import-Module -Name (Join-Path -Path $PSScriptRoot -ChildPath '../../test/powershell/SeamTestKit.psm1') -Force
    Import-Module -Name (Join-Path -Path $PSScriptRoot -ChildPath '../../test/powershell/LabSeam.psm1') -Force
    $script:Fqdn = 'exch01.corp.example'
    $script:CorpIssuer = 'CN=Corp Issuing CA 01, DC=corp, DC=example'
    $script:Writes = @('New-WinWsmanListener', 'Set-WinWsmanListener', 'Remove-WinWsmanListener', 'New-WinSelfSignedCertificate')
    # WinRM's fault texts (wsmerror.h) with their codes, as the WSMan cmdlets throw them.
    $script:Fault = @{
        AlreadyExists = @(2150858803, 'The WS-Management service cannot create the resource because it already exists.')
        CnMismatch    = @(2150858985, 'The WinRM client cannot process the request. The certificate CN and the hostname that were provided do not match.')
        NotFound      = @(2150858752, 'The WS-Management service cannot process the request. The service cannot find the resource identified by the resource URI and selectors.')
        Policy        = @(2150858890, 'Cannot change GPO controlled setting.')
        CannotConnect = @(2150858770, 'The client cannot connect to the destination specified in the request. Verify that the service on the destination is running and is accepting requests. Consult the logs and documentation for the WS-Management service running on the destination, most commonly IIS or WinRM. If the destination is the WinRM service, run the following command on the destination to analyze and configure the WinRM service: "winrm quickconfig".')
        AccessDenied  = @(5, 'Access is denied. ')
    }

    function New-HlParams {
        param([hashtable]$Change = @{})
        $params = [ordered]@{ Fqdn = $script:Fqdn; MinDaysLeft = 30; Issuers = @(); AllowSelfSigned = $false }
        foreach ($key in $Change.Keys) { $params[$key] = $Change[$key] }
        return $params
    }

    function New-HlRequest {
        param([string]$Mode = 'plan', [hashtable]$Change = @{}, $RollbackTo = $null)
        return [ordered]@{ mode = $Mode; params = (New-HlParams -Change $Change); rollbackTo = $RollbackTo }
    }

    function Invoke-Hl {
        param($Request, [string]$RequestJson)
        if ($RequestJson) { $output = Invoke-StepScript -Name 'Set-HttpsListener' -RequestJson $RequestJson }
        else { $output = Invoke-StepScript -Name 'Set-HttpsListener' -Request $Request }
        return (ConvertFrom-StepEnvelope -Script 'Set-HttpsListener' -Output $output)
    }

    function Invoke-HlRaw {
        # The envelope line itself, to see how a collection was serialised.
        param($Request)
        $output = @(Invoke-StepScript -Name 'Set-HttpsListener' -Request $Request)
        [void](ConvertFrom-StepEnvelope -Script 'Set-HttpsListener' -Output $output)
        return [string]$output[0]
    }

    function Use-HlHost {
        # A lab host of a profile (lab/profiles.ts, seed 7), bound to the seam; returned so tests see its changes.
        param([string]$Profile = 'fresh')
        $machine = New-LabHost -Profile $Profile
        Use-LabSeam -Machine $machine
        return $machine
    }

    function Get-HlCertificate {
        # A certificate of the host by its label's subject/issuer (the thumbprints are derived, not written here).
        param($Machine, [string]$Kind)
        $all = @($Machine.certificates)
        switch ($Kind) {
            'current' { return @($all | Where-Object { $_.subject -eq "CN=$script:Fqdn" -and -not $_.selfSigned } | Sort-Object -Property { [DateTime]::Parse($_.notAfter) } -Descending)[0] }
            'older' { return @($all | Where-Object { $_.subject -eq "CN=$script:Fqdn" -and -not $_.selfSigned } | Sort-Object -Property { [DateTime]::Parse($_.notAfter) })[0] }
            'exchange' { return @($all | Where-Object { $_.selfSigned })[0] }
            'mail' { return @($all | Where-Object { $_.subject -like 'CN=mail.*' })[0] }
        }
        throw "no certificate kind $Kind"
    }

    function Add-HlListener {
        param($Machine, [hashtable]$Listener = @{})
        $entry = [ordered]@{ address = '*'; transport = 'HTTPS'; port = 5986; hostname = $script:Fqdn; thumbprint = (Get-HlCertificate -Machine $Machine -Kind current).thumbprint; enabled = $true; source = 'Local' }
        foreach ($key in $Listener.Keys) { $entry[$key] = $Listener[$key] }
        $Machine.listeners = [object[]](@($Machine.listeners) + @([pscustomobject]$entry))
        return [pscustomobject]$entry
    }

    function Get-HttpsListeners {
        param($Machine)
        return @($Machine.listeners | Where-Object { $_.transport -eq 'HTTPS' })
    }

    function Get-Writes {
        return @(Get-SeamCall | Where-Object { $script:Writes -contains $_.Name })
    }

    function New-Fault {
        param([string]$Kind, [string]$Verb)
        $fault = $script:Fault[$Kind]
        return (New-WsmanFaultError -Code $fault[0] -Message $fault[1] -Command "Microsoft.WSMan.Management.$($Verb)WSManInstanceCommand" -Machine 'localhost')
    }

    function ConvertTo-ListenerXml {
        # A listener as Get-WSManInstance returns it: an XmlElement of WinRM's config schema, Source an
        # attribute that only non-local listeners have, ListeningOn repeated.
        param([string]$Thumbprint, [string]$Hostname = $script:Fqdn, [string]$Source = '')
        $attribute = ''
        if ($Source) { $attribute = " Source=`"$Source`"" }
        $text = '<cfg:Listener xmlns:cfg="http://schemas.microsoft.com/wbem/wsman/1/config/listener" xml:lang="en-US"{0}><cfg:Address>*</cfg:Address><cfg:Transport>HTTPS</cfg:Transport><cfg:Port>5986</cfg:Port><cfg:Hostname>{1}</cfg:Hostname><cfg:Enabled>true</cfg:Enabled><cfg:URLPrefix>wsman</cfg:URLPrefix><cfg:CertificateThumbprint>{2}</cfg:CertificateThumbprint><cfg:ListeningOn>10.0.0.21</cfg:ListeningOn><cfg:ListeningOn>127.0.0.1</cfg:ListeningOn></cfg:Listener>' -f $attribute, $Hostname, $Thumbprint
        return ([xml]$text).DocumentElement
    }

    # The certificate provider's DnsNameList ScriptProperty runs
    # `new-object Microsoft.Powershell.Commands.DnsNameProperty -argumentlist $this`, a class pwsh has on
    # Windows only. Off Windows it is defined here as PowerShell 7 implements it (the subject CN when the
    # subject is that one RDN, then the SAN DNS names not already listed), so real certificates carry the
    # same DnsNameList as on Windows through the same ScriptProperty.
    if ($null -eq ('Microsoft.PowerShell.Commands.DnsNameProperty' -as [type])) {
        Add-Type -TypeDefinition @'
using System;
using System.Collections.Generic;
using System.Security.Cryptography.X509Certificates;
namespace Microsoft.PowerShell.Commands {
    public sealed class DnsNameRepresentation {
        public DnsNameRepresentation(string punycode, string unicode) { Punycode = punycode; Unicode = unicode; }
        public string Punycode { get; private set; }
        public string Unicode { get; private set; }
    }
    public sealed class DnsNameProperty {
        private readonly List<DnsNameRepresentation> _list = new List<DnsNameRepresentation>();
        public List<DnsNameRepresentation> DnsNameList { get { return _list; } }
        public DnsNameProperty(X509Certificate2 cert) {
            if (cert.Subject.StartsWith("CN=", StringComparison.OrdinalIgnoreCase) && !cert.Subject.Contains(",")) {
                string name = cert.Subject.Substring(3);
                _list.Add(new DnsNameRepresentation(name, name));
            }
            foreach (X509Extension extension in cert.Extensions) {
                X509SubjectAlternativeNameExtension san = extension as X509SubjectAlternativeNameExtension;
                if (san == null) continue;
                foreach (string name in san.EnumerateDnsNames()) {
                    if (!_list.Exists(d => d.Unicode == name)) _list.Add(new DnsNameRepresentation(name, name));
                }
            }
        }
    }
}
'@
    }

    function New-RealCertificate {
        # A real X509Certificate2 (CertificateRequest), self-signed, with SAN DNS names and EKUs.
        param([string]$Subject = "CN=$script:Fqdn", [string[]]$DnsNames = @($script:Fqdn), [string[]]$Usages = @('1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2'), [int]$Days = 200)
        $rsa = [System.Security.Cryptography.RSA]::Create(2048)
        $request = New-Object -TypeName System.Security.Cryptography.X509Certificates.CertificateRequest -ArgumentList $Subject, $rsa, ([System.Security.Cryptography.HashAlgorithmName]::SHA256), ([System.Security.Cryptography.RSASignaturePadding]::Pkcs1)
        $oids = New-Object -TypeName System.Security.Cryptography.OidCollection
        foreach ($usage in $Usages) { [void]$oids.Add((New-Object -TypeName System.Security.Cryptography.Oid -ArgumentList $usage)) }
        $request.CertificateExtensions.Add((New-Object -TypeName System.Security.Cryptography.X509Certificates.X509EnhancedKeyUsageExtension -ArgumentList $oids, $false))
        $san = New-Object -TypeName System.Security.Cryptography.X509Certificates.SubjectAlternativeNameBuilder
        foreach ($name in $DnsNames) { $san.AddDnsName($name) }
        $request.CertificateExtensions.Add($san.Build())
        $certificate = $request.CreateSelfSigned([DateTimeOffset]::UtcNow.AddDays(-1), [DateTimeOffset]::UtcNow.AddDays($Days))
        return $certificate
    }
}

AfterAll {
    Remove-SeamFake
}

Describe 'Set-HttpsListener.ps1' {
    It 'does every Windows operation through the seam' {
        Get-StepSeamViolation -Name 'Set-HttpsListener' | Should -BeNullOrEmpty
        $commands = (Get-StepScriptCommand -Name 'Set-HttpsListener').Commands
        foreach ($seam in 'Get-WinWsmanListener', 'New-WinWsmanListener', 'Set-WinWsmanListener', 'Remove-WinWsmanListener', 'Get-WinCertificate', 'New-WinSelfSignedCertificate') {
            $commands | Should -Contain $seam
        }
    }

    Context 'plan, apply, verify and rollback on a lab host' {
        It 'creates the listener on a fresh server in one write, verifies, and rollback removes it' {
            $machine = Use-HlHost -Profile fresh
            $current = Get-HlCertificate -Machine $machine -Kind current
            $plan = Invoke-Hl (New-HlRequest -Mode plan)
            $plan.ok | Should -BeTrue
            $plan.changed | Should -BeTrue
            $plan.before.listener | Should -BeNullOrEmpty
            $plan.after.listener.thumbprint | Should -Be $current.thumbprint
            $plan.after.listener.port | Should -Be 5986
            $plan.evidence.selectedThumbprint | Should -Be $current.thumbprint
            Get-Writes | Should -BeNullOrEmpty

            $apply = Invoke-Hl (New-HlRequest -Mode apply)
            $apply.changed | Should -BeTrue
            $apply.after.listener.thumbprint | Should -Be $current.thumbprint
            $writes = Get-Writes
            $writes.Count | Should -Be 1
            $writes[0].Name | Should -Be 'New-WinWsmanListener'
            $writes[0].Parameters.Address | Should -Be '*'
            $writes[0].Parameters.Transport | Should -Be 'HTTPS'
            $writes[0].Parameters.ValueSet.Hostname | Should -Be $script:Fqdn
            $writes[0].Parameters.ValueSet.CertificateThumbprint | Should -Be $current.thumbprint
            $writes[0].Parameters.ValueSet.Port | Should -Be '5986'

            $verify = Invoke-Hl (New-HlRequest -Mode plan)
            $verify.compliant | Should -BeTrue
            $verify.changed | Should -BeFalse

            Clear-SeamCall
            $rollback = Invoke-Hl (New-HlRequest -Mode rollback -RollbackTo $plan.before)
            $rollback.ok | Should -BeTrue
            $rollback.changed | Should -BeTrue
            $rollback.after.listener | Should -BeNullOrEmpty
            (Get-Writes).Name | Should -Be 'Remove-WinWsmanListener'
            Get-HttpsListeners -Machine $machine | Should -BeNullOrEmpty
            @($machine.certificates | Where-Object { $_.thumbprint -eq $current.thumbprint }).Count | Should -Be 1 -Because 'certificates are never deleted'
        }

        It 'moves a listener off Exchange''s self-signed certificate: host name and thumbprint in ONE write' {
            # Two writes (thumbprint, then host name) fail on Windows between them: WinRM checks the new
            # certificate's CN against the old host name (0x803380E9). LabSeam checks the pair the same way.
            $machine = Use-HlHost -Profile fresh
            $exchange = Get-HlCertificate -Machine $machine -Kind exchange
            Add-HlListener -Machine $machine -Listener @{ hostname = 'EXCH01'; thumbprint = $exchange.thumbprint } | Out-Null
            $plan = Invoke-Hl (New-HlRequest -Mode plan)
            $apply = Invoke-Hl (New-HlRequest -Mode apply)
            $apply.ok | Should -BeTrue
            $writes = Get-Writes
            $writes.Count | Should -Be 1
            $writes[0].Name | Should -Be 'Set-WinWsmanListener'
            $writes[0].Parameters.ValueSet.Hostname | Should -Be $script:Fqdn
            $writes[0].Parameters.ValueSet.CertificateThumbprint | Should -Be (Get-HlCertificate -Machine $machine -Kind current).thumbprint
            @(Get-HttpsListeners -Machine $machine).Count | Should -Be 1
            $rollback = Invoke-Hl (New-HlRequest -Mode rollback -RollbackTo $plan.before)
            $rollback.ok | Should -BeTrue
            (Get-HttpsListeners -Machine $machine)[0].hostname | Should -Be 'EXCH01'
            (Get-HttpsListeners -Machine $machine)[0].thumbprint | Should -Be $exchange.thumbprint
        }

        It 'rotates a listener whose certificate expires soon, in place' {
            $machine = Use-HlHost -Profile 'expiring-cert'
            $old = (Get-HttpsListeners -Machine $machine)[0].thumbprint
            $apply = Invoke-Hl (New-HlRequest -Mode apply)
            $apply.changed | Should -BeTrue
            $apply.before.listener.thumbprint | Should -Be $old
            $apply.after.listener.thumbprint | Should -Not -Be $old
            (Get-Writes).Name | Should -Be 'Set-WinWsmanListener'
            @(Get-HttpsListeners -Machine $machine).Count | Should -Be 1
        }

        It 'keeps a bound certificate that still qualifies, although a later one exists (no churn)' {
            $machine = Use-HlHost -Profile fresh
            $older = Get-HlCertificate -Machine $machine -Kind older
            Add-HlListener -Machine $machine -Listener @{ thumbprint = $older.thumbprint } | Out-Null
            $envelope = Invoke-Hl (New-HlRequest -Mode apply)
            $envelope.compliant | Should -BeTrue
            $envelope.changed | Should -BeFalse
            $envelope.evidence.selectedThumbprint | Should -Be $older.thumbprint
            Get-Writes | Should -BeNullOrEmpty
        }

        It 'issues a self-signed certificate at apply only: the plan names none' {
            $machine = Use-HlHost -Profile fresh
            $machine.certificates = [object[]]@()
            $plan = Invoke-Hl (New-HlRequest -Mode plan -Change @{ AllowSelfSigned = $true })
            $plan.ok | Should -BeTrue
            $plan.after.listener.thumbprint | Should -Be ''
            $plan.after.certificate | Should -BeNullOrEmpty
            $plan.evidence.newSelfSigned | Should -BeTrue
            $plan.warnings[0] | Should -BeLike 'apply creates a self-signed certificate*'
            Get-Writes | Should -BeNullOrEmpty
            $apply = Invoke-Hl (New-HlRequest -Mode apply -Change @{ AllowSelfSigned = $true })
            $apply.ok | Should -BeTrue
            $writes = Get-Writes
            $writes.Name | Should -Be @('New-WinSelfSignedCertificate', 'New-WinWsmanListener')
            $writes[0].Parameters.DnsName | Should -Be @($script:Fqdn)
            $writes[0].Parameters.CertStoreLocation | Should -Be 'Cert:\LocalMachine\My'
            $created = @($machine.certificates)[0]
            $writes[1].Parameters.ValueSet.CertificateThumbprint | Should -Be $created.thumbprint
            $apply.evidence.selectedThumbprint | Should -Be $created.thumbprint
            $apply.after.certificate.selfSigned | Should -BeTrue
            (Invoke-Hl (New-HlRequest -Mode plan -Change @{ AllowSelfSigned = $true })).compliant | Should -BeTrue
        }

        It 'leaves a compliant listener set by Group Policy alone, and refuses to <Mode> one that must change' -ForEach @(
            @{ Mode = 'plan' }
            @{ Mode = 'apply' }
        ) {
            $machine = Use-HlHost -Profile fresh
            Add-HlListener -Machine $machine -Listener @{ source = 'GPO' } | Out-Null
            (Invoke-Hl (New-HlRequest -Mode $Mode)).compliant | Should -BeTrue
            $listener = (Get-HttpsListeners -Machine $machine)[0]
            $listener.thumbprint = (Get-HlCertificate -Machine $machine -Kind exchange).thumbprint
            $listener.hostname = 'EXCH01'
            $envelope = Invoke-Hl (New-HlRequest -Mode $Mode)
            $envelope.ok | Should -BeFalse
            $envelope.error.code | Should -Be 'PolicyControlled'
            Get-FailureType -Code $envelope.error.code -Class $envelope.error.class | Should -Be 'PolicyControlled'
            Get-Writes | Should -BeNullOrEmpty
        }

        It 'ignores an IIS Compatibility listener and creates its own' {
            $machine = Use-HlHost -Profile fresh
            Add-HlListener -Machine $machine -Listener @{ source = 'Compatibility'; port = 443; hostname = '' } | Out-Null
            $plan = Invoke-Hl (New-HlRequest -Mode plan)
            $plan.before.listener | Should -BeNullOrEmpty
            (Invoke-Hl (New-HlRequest -Mode apply)).ok | Should -BeTrue
            (Get-Writes).Name | Should -Be 'New-WinWsmanListener'
            @(Get-HttpsListeners -Machine $machine).Count | Should -Be 2
        }

        It 'manages the Address=* listener of several, and says so' {
            $machine = Use-HlHost -Profile fresh
            Add-HlListener -Machine $machine -Listener @{ address = 'IP:10.0.0.5'; port = 5987 } | Out-Null
            Add-HlListener -Machine $machine -Listener @{ hostname = 'EXCH01'; thumbprint = (Get-HlCertificate -Machine $machine -Kind exchange).thumbprint } | Out-Null
            $envelope = Invoke-Hl (New-HlRequest -Mode apply)
            $envelope.before.listener.hostname | Should -Be 'EXCH01'
            $envelope.warnings | Should -Contain '2 HTTPS listeners exist; the Address=* one is managed'
            (Get-Writes)[0].Parameters.Address | Should -Be '*'
        }

        It 'rollback recreates a listener deleted meanwhile on its saved port, and leaves a binding whose certificate is gone' {
            $machine = Use-HlHost -Profile onboarded
            $thumbprint = (Get-HttpsListeners -Machine $machine)[0].thumbprint
            $machine.listeners = [object[]]@($machine.listeners | Where-Object { $_.transport -ne 'HTTPS' })
            $saved = [ordered]@{ listener = [ordered]@{ port = 443; hostname = $script:Fqdn; thumbprint = $thumbprint }; certificate = $null }
            $rollback = Invoke-Hl (New-HlRequest -Mode rollback -RollbackTo $saved)
            $rollback.changed | Should -BeTrue
            (Get-Writes)[0].Parameters.ValueSet.Port | Should -Be '443'
            (Get-HttpsListeners -Machine $machine)[0].port | Should -Be 443
            Clear-SeamCall
            $gone = [ordered]@{ listener = [ordered]@{ port = 5986; hostname = $script:Fqdn; thumbprint = 'A' * 40 }; certificate = $null }
            $kept = Invoke-Hl (New-HlRequest -Mode rollback -RollbackTo $gone)
            $kept.ok | Should -BeTrue
            $kept.changed | Should -BeFalse
            $kept.warnings[0] | Should -BeLike 'the previous certificate AAAA*is gone*'
            Get-Writes | Should -BeNullOrEmpty
        }

        It 'works on what Windows returns: XmlElement listeners (Source only on a GPO one) and real X509Certificate2 objects' {
            Use-HlHost -Profile fresh | Out-Null
            $certificate = New-RealCertificate
            $thumbprint = $certificate.Thumbprint
            Set-SeamFake -Name Get-WinCertificate -ScriptBlock { param($Path) $certificate }.GetNewClosure()
            $local = ConvertTo-ListenerXml -Thumbprint $thumbprint
            Set-SeamFake -Name Get-WinWsmanListener -ScriptBlock { $local }.GetNewClosure()
            $envelope = Invoke-Hl (New-HlRequest -Mode apply -Change @{ AllowSelfSigned = $true })
            $envelope.ok | Should -BeTrue
            $envelope.compliant | Should -BeTrue
            $envelope.before.listener.port | Should -Be 5986
            $envelope.before.certificate.serverAuth | Should -BeTrue
            $envelope.before.certificate.selfSigned | Should -BeTrue
            $envelope.before.certificate.hasPrivateKey | Should -BeTrue
            $envelope.before.certificate.dnsNames | Should -Be @($script:Fqdn)
            # ISO dates in UTC with milliseconds, as JavaScript writes them (the lab compares them as text).
            Invoke-HlRaw (New-HlRequest -Mode plan -Change @{ AllowSelfSigned = $true }) | Should -Match '"notBefore":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z","notAfter":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"'
            $envelope.evidence.candidates[0].problems.Count | Should -Be 0
            # A GPO listener: the attribute is read through PSObject.Properties (strict mode), and it is not written.
            $gpo = ConvertTo-ListenerXml -Thumbprint $thumbprint -Hostname 'EXCH01' -Source 'GPO'
            Set-SeamFake -Name Get-WinWsmanListener -ScriptBlock { $gpo }.GetNewClosure()
            (Invoke-Hl (New-HlRequest -Mode apply -Change @{ AllowSelfSigned = $true })).error.code | Should -Be 'PolicyControlled'
            Get-Writes | Should -BeNullOrEmpty
        }

        It 'names a real certificate by its SAN when its CN is another name, and takes a DnsNameList that is $null' {
            Use-HlHost -Profile fresh | Out-Null
            $san = New-RealCertificate -Subject 'CN=EXCH01, O=Corp' -DnsNames @('EXCH01', $script:Fqdn)
            Set-SeamFake -Name Get-WinCertificate -ScriptBlock { param($Path) $san }.GetNewClosure()
            $plan = Invoke-Hl (New-HlRequest -Mode plan -Change @{ AllowSelfSigned = $true })
            $plan.after.certificate.dnsNames | Should -Be @('EXCH01', $script:Fqdn)
            # A ScriptProperty whose getter fails yields $null (as it does off Windows without the class).
            $bare = New-RealCertificate
            Add-Member -InputObject $bare -MemberType ScriptProperty -Name DnsNameList -Value { throw 'CCGetCertNameList failed' } -Force -ErrorAction SilentlyContinue
            $thumbprint = $bare.Thumbprint
            $fake = [pscustomobject]@{ Thumbprint = $thumbprint; Subject = $bare.Subject; Issuer = $bare.Issuer; DnsNameList = $null; NotBefore = $bare.NotBefore; NotAfter = $bare.NotAfter; HasPrivateKey = $true; Extensions = $bare.Extensions }
            Add-Member -InputObject $fake -MemberType ScriptMethod -Name GetNameInfo -Value { param($Type, $ForIssuer) 'exch01.corp.example' }
            Set-SeamFake -Name Get-WinCertificate -ScriptBlock { param($Path) $fake }.GetNewClosure()
            $named = Invoke-Hl (New-HlRequest -Mode plan -Change @{ AllowSelfSigned = $true })
            $named.after.certificate.thumbprint | Should -Be $thumbprint
            @($named.after.certificate.dnsNames).Count | Should -Be 0
        }

        It 'refuses a real certificate without the Server Authentication EKU' {
            Use-HlHost -Profile fresh | Out-Null
            $certificate = New-RealCertificate -Usages @('1.3.6.1.5.5.7.3.2')
            Set-SeamFake -Name Get-WinCertificate -ScriptBlock { param($Path) $certificate }.GetNewClosure()
            $envelope = Invoke-Hl (New-HlRequest -Mode plan -Change @{ AllowSelfSigned = $false })
            $envelope.error.code | Should -Be 'NoSuitableCertificate'
            $pinned = Invoke-Hl (New-HlRequest -Mode plan -Change @{ AllowSelfSigned = $true; Thumbprint = $certificate.Thumbprint })
            $pinned.error.code | Should -Be 'NoSuitableCertificate'
            $pinned.error.message | Should -BeLike '*no-server-auth*'
        }
    }

    Context 'one-element, empty and null collections' {
        It 'prints dnsNames <Case> as a JSON array' -ForEach @(
            @{ Case = 'with one name'; Names = @('exch01.corp.example'); Json = '"dnsNames":["exch01.corp.example"]' }
            @{ Case = 'with two names'; Names = @('exch01.corp.example', 'EXCH01'); Json = '"dnsNames":["exch01.corp.example","EXCH01"]' }
            @{ Case = 'with none (the name only in the CN)'; Names = @(); Json = '"dnsNames":[]' }
        ) {
            $machine = Use-HlHost -Profile fresh
            $current = Get-HlCertificate -Machine $machine -Kind current
            $current.dnsNames = [object[]]$Names
            $machine.certificates = [object[]]@($current)
            $line = Invoke-HlRaw (New-HlRequest -Mode plan)
            $line | Should -Match ([regex]::Escape($Json))
            (ConvertFrom-Json -InputObject $line).after.certificate.thumbprint | Should -Be $current.thumbprint -Because 'a one-name certificate names the server (-contains on the list, not on a wrapped list)'
        }

        It 'prints evidence.candidates and their problems as arrays for <Case>' -ForEach @(
            @{ Case = 'one certificate without problems'; Kinds = @('current'); Json = '"candidates":[{'; Problems = '"problems":[]' }
            @{ Case = 'one certificate with one problem'; Kinds = @('mail'); Json = '"candidates":[{'; Problems = '"problems":["name-mismatch"]' }
            @{ Case = 'an empty store'; Kinds = @(); Json = '"candidates":[]'; Problems = '' }
        ) {
            $machine = Use-HlHost -Profile fresh
            $machine.certificates = [object[]]@($Kinds | ForEach-Object { Get-HlCertificate -Machine $machine -Kind $_ })
            $line = Invoke-HlRaw (New-HlRequest -Mode plan -Change @{ AllowSelfSigned = $true })
            $line | Should -Match ([regex]::Escape($Json))
            if ($Problems) { $line | Should -Match ([regex]::Escape($Problems)) }
        }

        It 'takes Issuers <Case>' -ForEach @(
            @{ Case = 'empty (any issuer)'; Issuers = @(); Code = $null }
            @{ Case = 'with one issuer, spelled otherwise'; Issuers = @('cn=corp issuing ca 01,dc=corp,dc=example'); Code = $null }
            @{ Case = 'with two issuers, neither the right one'; Issuers = @('CN=Other CA, DC=corp, DC=example', 'CN=Corp Issuing CA 02, DC=corp, DC=example'); Code = 'NoSuitableCertificate' }
            @{ Case = 'null'; Issuers = $null; Code = 'InvalidInput' }
            @{ Case = 'holding null'; Issuers = @($null); Code = 'InvalidInput' }
            @{ Case = 'as a bare string'; Issuers = 'CN=Corp Issuing CA 01, DC=corp, DC=example'; Code = 'InvalidInput' }
            @{ Case = 'holding a number'; Issuers = @(1); Code = 'InvalidInput' }
            @{ Case = 'holding a too short DN'; Issuers = @('CN'); Code = 'InvalidInput' }
        ) {
            Use-HlHost -Profile fresh | Out-Null
            $envelope = Invoke-Hl (New-HlRequest -Mode plan -Change @{ Issuers = $Issuers })
            if ($null -eq $Code) {
                $envelope.ok | Should -BeTrue
                $envelope.after.certificate.issuer | Should -Be $script:CorpIssuer
            } else {
                $envelope.error.code | Should -Be $Code
            }
        }

        It 'refuses a request whose Issuers member is missing' {
            Use-HlHost -Profile fresh | Out-Null
            $envelope = Invoke-Hl -RequestJson '{"mode":"plan","params":{"Fqdn":"exch01.corp.example","MinDaysLeft":30,"AllowSelfSigned":false},"rollbackTo":null}'
            $envelope.error.code | Should -Be 'InvalidInput'
        }

        It 'takes a saved certificate whose dnsNames has <Case>' -ForEach @(
            @{ Case = 'one name'; Names = @('exch01.corp.example') }
            @{ Case = 'no name'; Names = @() }
        ) {
            $machine = Use-HlHost -Profile onboarded
            $plan = Invoke-Hl (New-HlRequest -Mode plan)
            $saved = ConvertTo-Json -InputObject $plan.before -Depth 5 | ConvertFrom-Json -AsHashtable
            $saved.certificate.dnsNames = [object[]]$Names
            $rollback = Invoke-Hl (New-HlRequest -Mode rollback -RollbackTo $saved)
            $rollback.ok | Should -BeTrue
            $rollback.changed | Should -BeFalse
            @(Get-HttpsListeners -Machine $machine).Count | Should -Be 1
        }
    }

    Context 'a rollback never acts without the saved state' {
        It 'refuses rollbackTo <Case> with InvalidInput, touching nothing' -ForEach @(
            @{ Case = 'missing from the request'; RollbackTo = 'absent' }
            @{ Case = 'null (which once removed the listener)'; RollbackTo = 'null' }
            @{ Case = '{}'; RollbackTo = '{}' }
            @{ Case = 'without certificate'; RollbackTo = '{"listener":null}' }
            @{ Case = 'without listener'; RollbackTo = '{"certificate":null}' }
            @{ Case = 'with Listener spelled otherwise'; RollbackTo = '{"Listener":null,"certificate":null}' }
            @{ Case = 'with params {} as well'; RollbackTo = '{}'; Params = '{}' }
            @{ Case = 'as an empty array'; RollbackTo = '[]' }
            @{ Case = 'as a one-element array'; RollbackTo = '[{"listener":null,"certificate":null}]' }
            @{ Case = 'as a string'; RollbackTo = '"none"' }
            @{ Case = 'with the listener as an array'; RollbackTo = '{"listener":[],"certificate":null}' }
            @{ Case = 'with a listener without port'; RollbackTo = '{"listener":{"hostname":"exch01.corp.example","thumbprint":""},"certificate":null}' }
            @{ Case = 'with the port as text'; RollbackTo = '{"listener":{"port":"5986","hostname":"exch01.corp.example","thumbprint":""},"certificate":null}' }
            @{ Case = 'with port 65536'; RollbackTo = '{"listener":{"port":65536,"hostname":"exch01.corp.example","thumbprint":""},"certificate":null}' }
            @{ Case = 'with a fractional port'; RollbackTo = '{"listener":{"port":5986.5,"hostname":"exch01.corp.example","thumbprint":""},"certificate":null}' }
            @{ Case = 'with the hostname null'; RollbackTo = '{"listener":{"port":5986,"hostname":null,"thumbprint":""},"certificate":null}' }
            @{ Case = 'with the thumbprint a number'; RollbackTo = '{"listener":{"port":5986,"hostname":"exch01.corp.example","thumbprint":1},"certificate":null}' }
            @{ Case = 'with a partial certificate'; RollbackTo = '{"listener":null,"certificate":{"thumbprint":"AB"}}' }
            @{ Case = 'with the certificate''s dnsNames a string'; RollbackTo = '{"listener":null,"certificate":{"thumbprint":"","subject":"","issuer":"","dnsNames":"exch01.corp.example","notBefore":"2026-01-01T00:00:00.000Z","notAfter":"2027-01-01T00:00:00.000Z","hasPrivateKey":true,"serverAuth":true,"selfSigned":false}}' }
            @{ Case = 'with the certificate''s dnsNames null'; RollbackTo = '{"listener":null,"certificate":{"thumbprint":"","subject":"","issuer":"","dnsNames":null,"notBefore":"2026-01-01T00:00:00.000Z","notAfter":"2027-01-01T00:00:00.000Z","hasPrivateKey":true,"serverAuth":true,"selfSigned":false}}' }
        ) {
            $machine = Use-HlHost -Profile onboarded
            $paramsJson = '{"Fqdn":"exch01.corp.example","MinDaysLeft":30,"Issuers":[],"AllowSelfSigned":false}'
            if ($Params) { $paramsJson = $Params }
            $json = '{"mode":"rollback","params":' + $paramsJson
            if ($RollbackTo -ne 'absent') { $json += ",`"rollbackTo`":$RollbackTo" }
            $envelope = Invoke-Hl -RequestJson ($json + '}')
            $envelope.ok | Should -BeFalse
            $envelope.mode | Should -Be 'rollback'
            $envelope.error.code | Should -Be 'InvalidInput'
            Get-SeamCall -Name Get-WinWsmanListener | Should -BeNullOrEmpty
            Get-Writes | Should -BeNullOrEmpty
            @(Get-HttpsListeners -Machine $machine).Count | Should -Be 1
        }

        It 'refuses a rollback by hand without -RollbackToJson, and does one with it' {
            $machine = Use-HlHost -Profile onboarded
            $path = Save-StepScript -Name 'Set-HttpsListener' -Path (Join-Path -Path $TestDrive -ChildPath 'Set-HttpsListener.ps1') -StrictMode $true
            (ConvertFrom-StepEnvelope -Script 'Set-HttpsListener' -Output @(& $path -Mode rollback -Fqdn $script:Fqdn)).error.code | Should -Be 'InvalidInput'
            @(Get-HttpsListeners -Machine $machine).Count | Should -Be 1
            (ConvertFrom-StepEnvelope -Script 'Set-HttpsListener' -Output @(& $path -Mode rollback -Fqdn $script:Fqdn -RollbackToJson '[{"listener":null,"certificate":null}]')).error.code | Should -Be 'InvalidInput'
            $done = ConvertFrom-StepEnvelope -Script 'Set-HttpsListener' -Output @(& $path -Mode rollback -Fqdn $script:Fqdn -RollbackToJson '{"listener":null,"certificate":null}')
            $done.ok | Should -BeTrue
            $done.changed | Should -BeTrue
            Get-HttpsListeners -Machine $machine | Should -BeNullOrEmpty
        }

        It 'plans by hand with named parameters (a one-element -Issuers included)' {
            Use-HlHost -Profile fresh | Out-Null
            $path = Save-StepScript -Name 'Set-HttpsListener' -Path (Join-Path -Path $TestDrive -ChildPath 'Set-HttpsListener.ps1') -StrictMode $true
            $envelope = ConvertFrom-StepEnvelope -Script 'Set-HttpsListener' -Output @(& $path -Mode plan -Fqdn $script:Fqdn -MinDaysLeft 30 -Issuers @($script:CorpIssuer) -AllowSelfSigned $false)
            $envelope.ok | Should -BeTrue
            $envelope.after.certificate.issuer | Should -Be $script:CorpIssuer
        }
    }

    Context 'the script''s own validation refuses every hostile value' {
        It '<Name> <Shown> in <Mode>: refused' -ForEach @(
            foreach ($mode in 'plan', 'apply') {
                Import-Module -Name (Join-Path -Path $PSScriptRoot -ChildPath '../../test/powershell/SeamTestKit.psm1')
                foreach ($hostile in Get-HostileValue) {
                    $bases = @{ Fqdn = 'exch01.corp.example'; Thumbprint = ('A' * 40); Issuers = 'CN=Corp Issuing CA 01, DC=corp, DC=example' }
                    foreach ($name in 'Fqdn', 'Thumbprint', 'Issuers') {
                        foreach ($value in @($hostile, "$($bases[$name])$hostile", "$hostile$($bases[$name])")) {
                            @{ Mode = $mode; Name = $name; Value = $value; Shown = (ConvertTo-Json -InputObject $value -Compress) }
                        }
                    }
                }
            }
        ) {
            $machine = Use-HlHost -Profile fresh
            $change = @{ $Name = $Value }
            if ($Name -eq 'Issuers') { $change = @{ Issuers = [string[]]@($Value) } }
            $envelope = Invoke-Hl (New-HlRequest -Mode $Mode -Change $change)
            # '*' inside an issuer DN is inert data (compared literally after normalising; zod accepts it too).
            if ($Name -eq 'Issuers' -and $Value.Length -ge 3 -and $Value -cmatch '^[^\x00-\x1F\x7F''"`$;|&\u2018-\u201E]+\z') {
                $envelope.error.code | Should -Be 'NoSuitableCertificate'
                return
            }
            $envelope.ok | Should -BeFalse
            $envelope.error.code | Should -Be 'InvalidInput'
            Get-SeamCall -Name Get-WinWsmanListener | Should -BeNullOrEmpty
            Get-Writes | Should -BeNullOrEmpty
            Get-HttpsListeners -Machine $machine | Should -BeNullOrEmpty
        }

        It 'refuses rollbackTo.listener.<Field> <Shown>' -ForEach @(
            Import-Module -Name (Join-Path -Path $PSScriptRoot -ChildPath '../../test/powershell/SeamTestKit.psm1')
            foreach ($hostile in Get-HostileValue) {
                foreach ($field in 'hostname', 'thumbprint') {
                    $base = @{ hostname = 'exch01.corp.example'; thumbprint = ('A' * 40) }[$field]
                    foreach ($value in @($hostile, "$base$hostile", "$hostile$base")) { @{ Field = $field; Value = $value; Shown = (ConvertTo-Json -InputObject $value -Compress) } }
                }
            }
        ) {
            $machine = Use-HlHost -Profile onboarded
            $before = @((Get-HttpsListeners -Machine $machine)[0].thumbprint, (Get-HttpsListeners -Machine $machine)[0].hostname)
            $listener = [ordered]@{ port = 5986; hostname = 'exch01.corp.example'; thumbprint = (Get-HlCertificate -Machine $machine -Kind older).thumbprint }
            $listener[$Field] = $Value
            $envelope = Invoke-Hl (New-HlRequest -Mode rollback -RollbackTo ([ordered]@{ listener = $listener; certificate = $null }))
            $envelope.error.code | Should -Be 'InvalidInput'
            Get-Writes | Should -BeNullOrEmpty
            @((Get-HttpsListeners -Machine $machine)[0].thumbprint, (Get-HttpsListeners -Machine $machine)[0].hostname) | Should -Be $before
        }

        It 'refuses <Case>' -ForEach @(
            @{ Case = 'a mode with a zero-width space'; Json = '{"mode":"apply\u200b","params":{"Fqdn":"exch01.corp.example","MinDaysLeft":30,"Issuers":[],"AllowSelfSigned":false},"rollbackTo":null}' }
            @{ Case = 'an unknown mode'; Json = '{"mode":"merge","params":{"Fqdn":"exch01.corp.example","MinDaysLeft":30,"Issuers":[],"AllowSelfSigned":false},"rollbackTo":null}' }
            @{ Case = 'params missing'; Json = '{"mode":"apply","rollbackTo":null}' }
            @{ Case = 'params as an array'; Json = '{"mode":"apply","params":[{"Fqdn":"exch01.corp.example"}],"rollbackTo":null}' }
            @{ Case = 'an unknown parameter'; Json = '{"mode":"apply","params":{"Fqdn":"exch01.corp.example","MinDaysLeft":30,"Issuers":[],"AllowSelfSigned":false,"Force":true},"rollbackTo":null}' }
            @{ Case = 'a parameter spelled otherwise'; Json = '{"mode":"apply","params":{"fqdn":"exch01.corp.example","MinDaysLeft":30,"Issuers":[],"AllowSelfSigned":false},"rollbackTo":null}' }
            @{ Case = 'Fqdn missing'; Json = '{"mode":"apply","params":{"MinDaysLeft":30,"Issuers":[],"AllowSelfSigned":false},"rollbackTo":null}' }
            @{ Case = 'Fqdn as a one-element array'; Json = '{"mode":"apply","params":{"Fqdn":["exch01.corp.example"],"MinDaysLeft":30,"Issuers":[],"AllowSelfSigned":false},"rollbackTo":null}' }
            @{ Case = 'Fqdn an IP address'; Json = '{"mode":"apply","params":{"Fqdn":"10.0.0.21","MinDaysLeft":30,"Issuers":[],"AllowSelfSigned":false},"rollbackTo":null}' }
            @{ Case = 'Fqdn with a trailing line break'; Json = '{"mode":"apply","params":{"Fqdn":"exch01.corp.example\n","MinDaysLeft":30,"Issuers":[],"AllowSelfSigned":false},"rollbackTo":null}' }
            @{ Case = 'MinDaysLeft as text'; Json = '{"mode":"apply","params":{"Fqdn":"exch01.corp.example","MinDaysLeft":"30","Issuers":[],"AllowSelfSigned":false},"rollbackTo":null}' }
            @{ Case = 'MinDaysLeft true'; Json = '{"mode":"apply","params":{"Fqdn":"exch01.corp.example","MinDaysLeft":true,"Issuers":[],"AllowSelfSigned":false},"rollbackTo":null}' }
            @{ Case = 'MinDaysLeft fractional'; Json = '{"mode":"apply","params":{"Fqdn":"exch01.corp.example","MinDaysLeft":30.5,"Issuers":[],"AllowSelfSigned":false},"rollbackTo":null}' }
            @{ Case = 'MinDaysLeft 0'; Json = '{"mode":"apply","params":{"Fqdn":"exch01.corp.example","MinDaysLeft":0,"Issuers":[],"AllowSelfSigned":false},"rollbackTo":null}' }
            @{ Case = 'MinDaysLeft too large for an int'; Json = '{"mode":"apply","params":{"Fqdn":"exch01.corp.example","MinDaysLeft":99999999999,"Issuers":[],"AllowSelfSigned":false},"rollbackTo":null}' }
            @{ Case = 'MinDaysLeft missing'; Json = '{"mode":"apply","params":{"Fqdn":"exch01.corp.example","Issuers":[],"AllowSelfSigned":false},"rollbackTo":null}' }
            @{ Case = 'AllowSelfSigned as the text "false" ([bool] makes it $true)'; Json = '{"mode":"apply","params":{"Fqdn":"exch01.corp.example","MinDaysLeft":30,"Issuers":[],"AllowSelfSigned":"false"},"rollbackTo":null}' }
            @{ Case = 'AllowSelfSigned null'; Json = '{"mode":"apply","params":{"Fqdn":"exch01.corp.example","MinDaysLeft":30,"Issuers":[],"AllowSelfSigned":null},"rollbackTo":null}' }
            @{ Case = 'Thumbprint null'; Json = '{"mode":"apply","params":{"Fqdn":"exch01.corp.example","MinDaysLeft":30,"Issuers":[],"AllowSelfSigned":false,"Thumbprint":null},"rollbackTo":null}' }
            @{ Case = 'Thumbprint with a trailing line break'; Json = '{"mode":"apply","params":{"Fqdn":"exch01.corp.example","MinDaysLeft":30,"Issuers":[],"AllowSelfSigned":false,"Thumbprint":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n"},"rollbackTo":null}' }
        ) {
            $machine = Use-HlHost -Profile fresh
            $machine.certificates = [object[]]@()
            $envelope = Invoke-Hl -RequestJson $Json
            $envelope.ok | Should -BeFalse
            $envelope.error.code | Should -Be 'InvalidInput'
            Get-SeamCall -Name Get-WinWsmanListener | Should -BeNullOrEmpty
            Get-Writes | Should -BeNullOrEmpty
        }

        It 'refuses a hostile -Fqdn given by hand at parameter binding, before any of its code runs' {
            Use-HlHost -Profile fresh | Out-Null
            $path = Save-StepScript -Name 'Set-HttpsListener' -Path (Join-Path -Path $TestDrive -ChildPath 'Set-HttpsListener.ps1')
            foreach ($value in @("exch01.corp.example`n", "x'; Remove-Item C:\ -Recurse; '")) {
                $thrown = $null
                try { & $path -Mode apply -Fqdn $value } catch { $thrown = $_ }
                $thrown.FullyQualifiedErrorId | Should -BeLike 'ParameterArgumentValidationError*'
            }
            Get-SeamCall | Where-Object { $_.Name -ne 'Get-WinComputerName' -and $_.Name -ne 'Resolve-WinDnsHostName' } | Should -BeNullOrEmpty
        }
    }

    Context 'errors as Windows produces them' {
        It '<Case> -> <Type>' -ForEach @(
            @{ Case = 'WinRM stopped: the listener enumeration cannot connect (0x80338012)'; Seam = 'Get-WinWsmanListener'; Setup = 'fresh'; Mode = 'plan'; Type = 'WinRMUnavailable'; Code = '0x80338012'
                Throw = { New-Fault -Kind CannotConnect -Verb Get } }
            @{ Case = 'the enumeration refused: not elevated (fault Code 5)'; Seam = 'Get-WinWsmanListener'; Setup = 'fresh'; Mode = 'plan'; Type = 'AccessDenied'; Code = '5'
                Throw = { New-Fault -Kind AccessDenied -Verb Get } }
            @{ Case = 'a listener created between the check and the create (0x80338033)'; Seam = 'New-WinWsmanListener'; Setup = 'fresh'; Mode = 'apply'; Type = 'ListenerAlreadyExists'; Code = '0x80338033'
                Throw = { New-Fault -Kind AlreadyExists -Verb New } }
            @{ Case = 'the create refused: the certificate''s CN is not the host name (0x803380E9)'; Seam = 'New-WinWsmanListener'; Setup = 'fresh'; Mode = 'apply'; Type = 'CertificateNameMismatch'; Code = '0x803380E9'
                Throw = { New-Fault -Kind CnMismatch -Verb New } }
            @{ Case = 'the create refused: not elevated (fault Code 5)'; Seam = 'New-WinWsmanListener'; Setup = 'fresh'; Mode = 'apply'; Type = 'AccessDenied'; Code = '5'
                Throw = { New-Fault -Kind AccessDenied -Verb New } }
            @{ Case = 'a GPO applied between the check and the write (0x8033808A)'; Seam = 'Set-WinWsmanListener'; Setup = 'exchange'; Mode = 'apply'; Type = 'PolicyControlled'; Code = 'PolicyControlled'
                Throw = { New-Fault -Kind Policy -Verb Set } }
            @{ Case = 'the listener deleted between the check and the write (0x80338000, retried: it is created next time)'; Seam = 'Set-WinWsmanListener'; Setup = 'exchange'; Mode = 'apply'; Type = 'WinRMUnavailable'; Code = '0x80338000'
                Throw = { New-Fault -Kind NotFound -Verb Set } }
            @{ Case = 'the rollback''s remove refused: not elevated (fault Code 5)'; Seam = 'Remove-WinWsmanListener'; Setup = 'onboarded'; Mode = 'rollback'; Type = 'AccessDenied'; Code = '5'
                Throw = { New-Fault -Kind AccessDenied -Verb Remove } }
            @{ Case = 'New-SelfSignedCertificate not elevated (CertEnroll NTE_PERM, a plain System.Exception)'; Seam = 'New-WinSelfSignedCertificate'; Setup = 'empty'; Mode = 'apply'; Type = 'AccessDenied'; Code = '5'
                Throw = { New-WindowsErrorRecord -Exception (New-Object -TypeName System.Exception -ArgumentList 'CertEnroll::CX509Enrollment::_CreateRequest: Access denied. 0x80090010 (-2146893808 NTE_PERM)') -ErrorId 'System.Exception,Microsoft.CertificateServices.Commands.NewSelfSignedCertificateCommand' } }
            @{ Case = 'New-SelfSignedCertificate failing otherwise (CertEnroll, no subject)'; Seam = 'New-WinSelfSignedCertificate'; Setup = 'empty'; Mode = 'apply'; Type = 'PowerShellError'; Code = 'PowerShellError'
                Throw = { New-WindowsErrorRecord -Exception (New-Object -TypeName System.Exception -ArgumentList 'CertEnroll::CX509Enrollment::_CreateRequest: The subject name is missing. 0x80094001 (-2146877439 CERTSRV_E_BAD_REQUESTSUBJECT)') -ErrorId 'System.Exception,Microsoft.CertificateServices.Commands.NewSelfSignedCertificateCommand' } }
        ) {
            $profile = 'fresh'
            if ($Setup -eq 'onboarded') { $profile = 'onboarded' }
            $machine = Use-HlHost -Profile $profile
            if ($Setup -eq 'exchange') { Add-HlListener -Machine $machine -Listener @{ hostname = 'EXCH01'; thumbprint = (Get-HlCertificate -Machine $machine -Kind exchange).thumbprint } | Out-Null }
            if ($Setup -eq 'empty') { $machine.certificates = [object[]]@() }
            $listenersBefore = ConvertTo-Json -InputObject @($machine.listeners) -Depth 4
            $record = & $Throw
            Set-SeamFake -Name $Seam -ScriptBlock { throw $record }.GetNewClosure()
            $envelope = Invoke-Hl (New-HlRequest -Mode $Mode -Change @{ AllowSelfSigned = ($Setup -eq 'empty') } -RollbackTo ([ordered]@{ listener = $null; certificate = $null }))
            $envelope.ok | Should -BeFalse
            $envelope.changed | Should -BeFalse
            $envelope.error.code | Should -Be $Code
            Get-FailureType -Code $envelope.error.code -Class $envelope.error.class | Should -Be $Type
            ConvertTo-Json -InputObject @($machine.listeners) -Depth 4 | Should -Be $listenersBefore
        }

        It 'plans a certificate that names the server only in its SAN, and apply fails as WinRM refuses it (0x803380E9)' {
            # Today's rule accepts a SAN-only name (lab/certificates.ts namesHost); WinRM checks the CN against
            # Hostname. A separate change makes the CN rule strict; until then plan and apply disagree here.
            $machine = Use-HlHost -Profile fresh
            $current = Get-HlCertificate -Machine $machine -Kind current
            $current.subject = 'CN=EXCH01'
            $current.dnsNames = [object[]]@('EXCH01', $script:Fqdn)
            $machine.certificates = [object[]]@($current)
            (Invoke-Hl (New-HlRequest -Mode plan)).after.listener.thumbprint | Should -Be $current.thumbprint
            $apply = Invoke-Hl (New-HlRequest -Mode apply)
            $apply.error.code | Should -Be '0x803380E9'
            Get-FailureType -Code $apply.error.code -Class $apply.error.class | Should -Be 'CertificateNameMismatch'
            Get-HttpsListeners -Machine $machine | Should -BeNullOrEmpty
        }
    }

    It 'prints only envelopes that match domain/envelope.ts and the step''s state schema (zod, via node)' {
        Assert-StepEnvelopeContract | Should -BeGreaterThan 100
    }
}
