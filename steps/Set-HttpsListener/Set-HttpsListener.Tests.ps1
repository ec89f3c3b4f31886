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
    $script:Writes = @('New-WinWsmanListener', 'Set-WinWsmanListener', 'Remove-WinWsmanListener')
    # WinRM's fault texts (wsmerror.h) with their codes, as the WSMan cmdlets throw them.
    $script:Fault = @{
        AlreadyExists = @(2150858803, 'The WS-Management service cannot create the resource because it already exists.')
        CnMismatch    = @(2150858985, 'The WinRM client cannot process the request. The certificate CN and the hostname that were provided do not match.')
        NotFound      = @(2150858752, 'The WS-Management service cannot process the request. The service cannot find the resource identified by the resource URI and selectors.')
        Policy        = @(2150858890, 'Cannot change GPO controlled setting.')
        CannotConnect = @(2150858770, 'The client cannot connect to the destination specified in the request. Verify that the service on the destination is running and is accepting requests. Consult the logs and documentation for the WS-Management service running on the destination, most commonly IIS or WinRM. If the destination is the WinRM service, run the following command on the destination to analyze and configure the WinRM service: "winrm quickconfig".')
        AccessDenied  = @(5, 'Access is denied. ')
        SslBindingExists = @(2147942583, 'Cannot create a file when that file already exists. ')
    }

    function New-HlParams {
        param([hashtable]$Change = @{})
        $params = [ordered]@{ Fqdn = $script:Fqdn; MinDaysLeft = 30; Issuers = @(); TrustedSelfSigned = @() }
        foreach ($key in $Change.Keys) { $params[$key] = $Change[$key] }
        return $params
    }

    function New-HlRequest {
        param([string]$Mode = 'plan', [hashtable]$Change = @{}, $RollbackTo = $null)
        return [ordered]@{ mode = $Mode; params = (New-HlParams -Change $Change); rollbackTo = $RollbackTo }
    }

    function Invoke-Hl {
        param($Request, [string]$RequestJson)
        return (Invoke-StepEnvelope -Name 'Set-HttpsListener' -Request $Request -RequestJson $RequestJson)
    }

    function Invoke-HlRaw {
        # The envelope line itself, to see how a collection was serialised.
        param($Request)
        [void](Invoke-Hl $Request)
        return [string](Get-LastStepOutput)[0]
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
        # The HTTPS listeners, unrolled: callers wrap the call in @().
        param($Machine)
        $Machine.listeners | Where-Object { $_.transport -eq 'HTTPS' }
    }

    function Get-Writes {
        # The seam calls that write, unrolled: callers wrap the call in @().
        Get-SeamCall | Where-Object { $script:Writes -contains $_.Name }
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
        foreach ($seam in 'Get-WinWsmanListener', 'New-WinWsmanListener', 'Set-WinWsmanListener', 'Remove-WinWsmanListener', 'Get-WinCertificate', 'Get-WinPSSnapin', 'Add-WinPSSnapin', 'Get-WinExchangeCertificate', 'Test-WinCertificate', 'Get-WinHttpSslBinding') {
            $commands | Should -Contain $seam
        }
        $commands | Should -Not -Contain 'New-WinSelfSignedCertificate' -Because 'the Monosync side could not trust a certificate created now'
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
            @(Get-Writes) | Should -BeNullOrEmpty

            $apply = Invoke-Hl (New-HlRequest -Mode apply)
            $apply.changed | Should -BeTrue
            $apply.after.listener.thumbprint | Should -Be $current.thumbprint
            $writes = @(Get-Writes)
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
            @(Get-Writes).Name | Should -Be 'Remove-WinWsmanListener'
            @(Get-HttpsListeners -Machine $machine) | Should -BeNullOrEmpty
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
            $writes = @(Get-Writes)
            $writes.Count | Should -Be 1
            $writes[0].Name | Should -Be 'Set-WinWsmanListener'
            $writes[0].Parameters.ValueSet.Hostname | Should -Be $script:Fqdn
            $writes[0].Parameters.ValueSet.CertificateThumbprint | Should -Be (Get-HlCertificate -Machine $machine -Kind current).thumbprint
            @(Get-HttpsListeners -Machine $machine).Count | Should -Be 1
            $rollback = Invoke-Hl (New-HlRequest -Mode rollback -RollbackTo $plan.before)
            $rollback.ok | Should -BeTrue
            @(Get-HttpsListeners -Machine $machine)[0].hostname | Should -Be 'EXCH01'
            @(Get-HttpsListeners -Machine $machine)[0].thumbprint | Should -Be $exchange.thumbprint
        }

        It 'rotates a listener whose certificate expires soon, in place' {
            $machine = Use-HlHost -Profile 'expiring-cert'
            $old = @(Get-HttpsListeners -Machine $machine)[0].thumbprint
            $apply = Invoke-Hl (New-HlRequest -Mode apply)
            $apply.changed | Should -BeTrue
            $apply.before.listener.thumbprint | Should -Be $old
            $apply.after.listener.thumbprint | Should -Not -Be $old
            @(Get-Writes).Name | Should -Be 'Set-WinWsmanListener'
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
            @(Get-Writes) | Should -BeNullOrEmpty
        }

        It 'binds a self-signed certificate only when the Monosync side trusts it, and never creates one' {
            $machine = Use-HlHost -Profile fresh
            $self = (Get-HlCertificate -Machine $machine -Kind current).PSObject.Copy()
            $self.thumbprint = 'C' * 40
            $self.issuer = $self.subject
            $self.selfSigned = $true
            $machine.certificates = [object[]]@($self)
            $refused = Invoke-Hl (New-HlRequest -Mode apply)
            $refused.error.code | Should -Be 'NoSuitableCertificate'
            $refused.error.message | Should -BeLike "*$('C' * 40): self-signed-not-trusted-by-monosync*"
            @(Get-Writes) | Should -BeNullOrEmpty
            @($machine.certificates).Count | Should -Be 1 -Because 'no certificate is created: the Monosync side could not trust it'
            $apply = Invoke-Hl (New-HlRequest -Mode apply -Change @{ TrustedSelfSigned = @('c' * 40) })
            $apply.ok | Should -BeTrue
            $apply.evidence.selfSigned | Should -BeTrue
            $apply.after.certificate.selfSigned | Should -BeTrue
            @(Get-Writes)[0].Parameters.ValueSet.CertificateThumbprint | Should -Be ('C' * 40)
            Get-SeamCall -Name Test-WinCertificate | Should -BeNullOrEmpty -Because 'the server''s chain check says nothing of what the Monosync side trusts'
        }

        It 'leaves a compliant listener set by Group Policy alone, and refuses to <Mode> one that must change' -ForEach @(
            @{ Mode = 'plan' }
            @{ Mode = 'apply' }
        ) {
            $machine = Use-HlHost -Profile fresh
            Add-HlListener -Machine $machine -Listener @{ source = 'GPO' } | Out-Null
            (Invoke-Hl (New-HlRequest -Mode $Mode)).compliant | Should -BeTrue
            $listener = @(Get-HttpsListeners -Machine $machine)[0]
            $listener.thumbprint = (Get-HlCertificate -Machine $machine -Kind exchange).thumbprint
            $listener.hostname = 'EXCH01'
            $envelope = Invoke-Hl (New-HlRequest -Mode $Mode)
            $envelope.ok | Should -BeFalse
            $envelope.error.code | Should -Be 'PolicyControlled'
            Get-FailureType -Code $envelope.error.code -Class $envelope.error.class | Should -Be 'PolicyControlled'
            @(Get-Writes) | Should -BeNullOrEmpty
        }

        It 'ignores an IIS Compatibility listener and creates its own' {
            $machine = Use-HlHost -Profile fresh
            Add-HlListener -Machine $machine -Listener @{ source = 'Compatibility'; port = 443; hostname = '' } | Out-Null
            $plan = Invoke-Hl (New-HlRequest -Mode plan)
            $plan.before.listener | Should -BeNullOrEmpty
            (Invoke-Hl (New-HlRequest -Mode apply)).ok | Should -BeTrue
            @(Get-Writes).Name | Should -Be 'New-WinWsmanListener'
            @(Get-HttpsListeners -Machine $machine).Count | Should -Be 2
        }

        It 'manages the Address=* listener of several, and says so' {
            $machine = Use-HlHost -Profile fresh
            Add-HlListener -Machine $machine -Listener @{ address = 'IP:10.0.0.5'; port = 5987 } | Out-Null
            Add-HlListener -Machine $machine -Listener @{ hostname = 'EXCH01'; thumbprint = (Get-HlCertificate -Machine $machine -Kind exchange).thumbprint } | Out-Null
            $envelope = Invoke-Hl (New-HlRequest -Mode apply)
            $envelope.before.listener.hostname | Should -Be 'EXCH01'
            $envelope.warnings | Should -Contain '2 HTTPS listeners exist; the Address=* one is managed'
            @(Get-Writes)[0].Parameters.Address | Should -Be '*'
        }

        It 'rollback recreates a listener deleted meanwhile on its saved port, and leaves a binding whose certificate is gone' {
            $machine = Use-HlHost -Profile onboarded
            $thumbprint = @(Get-HttpsListeners -Machine $machine)[0].thumbprint
            $machine.listeners = [object[]]@($machine.listeners | Where-Object { $_.transport -ne 'HTTPS' })
            $saved = [ordered]@{ listener = [ordered]@{ port = 443; hostname = $script:Fqdn; thumbprint = $thumbprint }; certificate = $null }
            $rollback = Invoke-Hl (New-HlRequest -Mode rollback -RollbackTo $saved)
            $rollback.changed | Should -BeTrue
            @(Get-Writes)[0].Parameters.ValueSet.Port | Should -Be '443'
            @(Get-HttpsListeners -Machine $machine)[0].port | Should -Be 443
            Clear-SeamCall
            $gone = [ordered]@{ listener = [ordered]@{ port = 5986; hostname = $script:Fqdn; thumbprint = 'A' * 40 }; certificate = $null }
            $kept = Invoke-Hl (New-HlRequest -Mode rollback -RollbackTo $gone)
            $kept.ok | Should -BeTrue
            $kept.changed | Should -BeFalse
            $kept.warnings[0] | Should -BeLike 'the previous certificate AAAA*is gone*'
            @(Get-Writes) | Should -BeNullOrEmpty
        }

        It 'works on what Windows returns: XmlElement listeners (Source only on a GPO one) and real X509Certificate2 objects' {
            Use-HlHost -Profile fresh | Out-Null
            $certificate = New-RealCertificate
            $thumbprint = $certificate.Thumbprint
            Set-SeamFake -Name Get-WinCertificate -ScriptBlock { param($Path) $certificate }.GetNewClosure()
            $local = ConvertTo-ListenerXml -Thumbprint $thumbprint
            Set-SeamFake -Name Get-WinWsmanListener -ScriptBlock { $local }.GetNewClosure()
            $trusted = @{ TrustedSelfSigned = @($thumbprint) }
            $envelope = Invoke-Hl (New-HlRequest -Mode apply -Change $trusted)
            $envelope.ok | Should -BeTrue
            $envelope.compliant | Should -BeTrue
            $envelope.before.listener.port | Should -Be 5986
            $envelope.before.certificate.serverAuth | Should -BeTrue
            $envelope.before.certificate.selfSigned | Should -BeTrue
            $envelope.before.certificate.hasPrivateKey | Should -BeTrue
            $envelope.before.certificate.dnsNames | Should -Be @($script:Fqdn)
            # ISO dates in UTC with milliseconds, as JavaScript writes them (the lab compares them as text).
            Invoke-HlRaw (New-HlRequest -Mode plan -Change $trusted) | Should -Match '"notBefore":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z","notAfter":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"'
            $envelope.evidence.candidates[0].problems.Count | Should -Be 0
            # A GPO listener: the attribute is read through PSObject.Properties (strict mode), and it is not written.
            $gpo = ConvertTo-ListenerXml -Thumbprint $thumbprint -Hostname 'EXCH01' -Source 'GPO'
            Set-SeamFake -Name Get-WinWsmanListener -ScriptBlock { $gpo }.GetNewClosure()
            (Invoke-Hl (New-HlRequest -Mode apply -Change $trusted)).error.code | Should -Be 'PolicyControlled'
            @(Get-Writes) | Should -BeNullOrEmpty
        }

        It 'refuses a real certificate that names the server only in its SAN (WinRM binds by CN), and takes a DnsNameList that is $null' {
            Use-HlHost -Profile fresh | Out-Null
            $san = New-RealCertificate -Subject 'CN=EXCH01, O=Corp' -DnsNames @('EXCH01', $script:Fqdn)
            Set-SeamFake -Name Get-WinCertificate -ScriptBlock { param($Path) $san }.GetNewClosure()
            $plan = Invoke-Hl (New-HlRequest -Mode plan -Change @{ TrustedSelfSigned = @($san.Thumbprint) })
            $plan.error.code | Should -Be 'CertNameMismatch'
            $plan.error.message | Should -BeLike '*CN=EXCH01, O=Corp*only in the SAN*0x803380E9*'
            Get-FailureType -Code $plan.error.code -Class $plan.error.class | Should -Be 'CertificateNameMismatch'
            # A ScriptProperty whose getter fails yields $null (as it does off Windows without the class).
            $bare = New-RealCertificate
            Add-Member -InputObject $bare -MemberType ScriptProperty -Name DnsNameList -Value { throw 'CCGetCertNameList failed' } -Force -ErrorAction SilentlyContinue
            $thumbprint = $bare.Thumbprint
            $fake = [pscustomobject]@{ Thumbprint = $thumbprint; Subject = $bare.Subject; Issuer = $bare.Issuer; DnsNameList = $null; NotBefore = $bare.NotBefore; NotAfter = $bare.NotAfter; HasPrivateKey = $true; Extensions = $bare.Extensions }
            Add-Member -InputObject $fake -MemberType ScriptMethod -Name GetNameInfo -Value { param($Type, $ForIssuer) 'exch01.corp.example' }
            Set-SeamFake -Name Get-WinCertificate -ScriptBlock { param($Path) $fake }.GetNewClosure()
            $named = Invoke-Hl (New-HlRequest -Mode plan -Change @{ TrustedSelfSigned = @($thumbprint) })
            $named.after.certificate.thumbprint | Should -Be $thumbprint
            @($named.after.certificate.dnsNames).Count | Should -Be 0
        }

        It 'refuses a real certificate without the Server Authentication EKU' {
            Use-HlHost -Profile fresh | Out-Null
            $certificate = New-RealCertificate -Usages @('1.3.6.1.5.5.7.3.2')
            Set-SeamFake -Name Get-WinCertificate -ScriptBlock { param($Path) $certificate }.GetNewClosure()
            $envelope = Invoke-Hl (New-HlRequest -Mode plan)
            $envelope.error.code | Should -Be 'NoSuitableCertificate'
            $pinned = Invoke-Hl (New-HlRequest -Mode plan -Change @{ TrustedSelfSigned = @($certificate.Thumbprint); Thumbprint = $certificate.Thumbprint })
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
            @{ Case = 'one certificate without problems'; Kinds = @('current'); Issuers = @(); Json = '"candidates":[{'; Problems = '"problems":[]' }
            @{ Case = 'one certificate with one problem'; Kinds = @('older'); Issuers = @('CN=Other CA, DC=corp, DC=example'); Json = '"candidates":[{'; Problems = '"problems":["issuer-not-allowed"]' }
            @{ Case = 'one certificate bound to one Exchange service'; Kinds = @('mail'); Issuers = @(); Json = '"candidates":[{'; Problems = '"exchangeServices":["IIS"]' }
            @{ Case = 'an empty store'; Kinds = @(); Issuers = @(); Json = '"candidates":[]'; Problems = '' }
        ) {
            $machine = Use-HlHost -Profile fresh
            $services = @{}
            $services[(Get-HlCertificate -Machine $machine -Kind mail).thumbprint] = @('IIS')
            $machine.exchangeCertificateServices = [pscustomobject]$services
            $machine.certificates = [object[]]@($Kinds | ForEach-Object { Get-HlCertificate -Machine $machine -Kind $_ })
            $line = Invoke-HlRaw (New-HlRequest -Mode plan -Change @{ Issuers = $Issuers })
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
            $envelope = Invoke-Hl -RequestJson '{"mode":"plan","params":{"Fqdn":"exch01.corp.example","MinDaysLeft":30,"TrustedSelfSigned":[]},"rollbackTo":null}'
            $envelope.error.code | Should -Be 'InvalidInput'
        }

        It 'takes a saved certificate whose dnsNames has <Case>' -ForEach @(
            @{ Case = 'one name'; Names = @('exch01.corp.example') }
            @{ Case = 'no name'; Names = @() }
        ) {
            $machine = Use-HlHost -Profile onboarded
            $plan = Invoke-Hl (New-HlRequest -Mode plan)
            $saved = ConvertTo-Json -InputObject $plan.before -Depth 5 | ConvertFrom-Json
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
            $paramsJson = '{"Fqdn":"exch01.corp.example","MinDaysLeft":30,"Issuers":[],"TrustedSelfSigned":[]}'
            if ($Params) { $paramsJson = $Params }
            $json = '{"mode":"rollback","params":' + $paramsJson
            if ($RollbackTo -ne 'absent') { $json += ",`"rollbackTo`":$RollbackTo" }
            $envelope = Invoke-Hl -RequestJson ($json + '}')
            $envelope.ok | Should -BeFalse
            $envelope.mode | Should -Be 'rollback'
            $envelope.error.code | Should -Be 'InvalidInput'
            Get-SeamCall -Name Get-WinWsmanListener | Should -BeNullOrEmpty
            @(Get-Writes) | Should -BeNullOrEmpty
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
            @(Get-HttpsListeners -Machine $machine) | Should -BeNullOrEmpty
        }

        It 'plans by hand with named parameters (a one-element -Issuers included)' {
            Use-HlHost -Profile fresh | Out-Null
            $path = Save-StepScript -Name 'Set-HttpsListener' -Path (Join-Path -Path $TestDrive -ChildPath 'Set-HttpsListener.ps1') -StrictMode $true
            $envelope = ConvertFrom-StepEnvelope -Script 'Set-HttpsListener' -Output @(& $path -Mode plan -Fqdn $script:Fqdn -MinDaysLeft 30 -Issuers @($script:CorpIssuer) -TrustedSelfSigned @())
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
            @(Get-Writes) | Should -BeNullOrEmpty
            @(Get-HttpsListeners -Machine $machine) | Should -BeNullOrEmpty
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
            $before = @(@(Get-HttpsListeners -Machine $machine)[0].thumbprint, @(Get-HttpsListeners -Machine $machine)[0].hostname)
            $listener = [ordered]@{ port = 5986; hostname = 'exch01.corp.example'; thumbprint = (Get-HlCertificate -Machine $machine -Kind older).thumbprint }
            $listener[$Field] = $Value
            $envelope = Invoke-Hl (New-HlRequest -Mode rollback -RollbackTo ([ordered]@{ listener = $listener; certificate = $null }))
            $envelope.error.code | Should -Be 'InvalidInput'
            @(Get-Writes) | Should -BeNullOrEmpty
            @(@(Get-HttpsListeners -Machine $machine)[0].thumbprint, @(Get-HttpsListeners -Machine $machine)[0].hostname) | Should -Be $before
        }

        It 'refuses <Case>' -ForEach @(
            @{ Case = 'a mode with a zero-width space'; Json = '{"mode":"apply\u200b","params":{"Fqdn":"exch01.corp.example","MinDaysLeft":30,"Issuers":[],"TrustedSelfSigned":[]},"rollbackTo":null}' }
            @{ Case = 'an unknown mode'; Json = '{"mode":"merge","params":{"Fqdn":"exch01.corp.example","MinDaysLeft":30,"Issuers":[],"TrustedSelfSigned":[]},"rollbackTo":null}' }
            @{ Case = 'params missing'; Json = '{"mode":"apply","rollbackTo":null}' }
            @{ Case = 'params as an array'; Json = '{"mode":"apply","params":[{"Fqdn":"exch01.corp.example"}],"rollbackTo":null}' }
            @{ Case = 'an unknown parameter'; Json = '{"mode":"apply","params":{"Fqdn":"exch01.corp.example","MinDaysLeft":30,"Issuers":[],"TrustedSelfSigned":[],"Force":true},"rollbackTo":null}' }
            @{ Case = 'a parameter spelled otherwise'; Json = '{"mode":"apply","params":{"fqdn":"exch01.corp.example","MinDaysLeft":30,"Issuers":[],"TrustedSelfSigned":[]},"rollbackTo":null}' }
            @{ Case = 'Fqdn missing'; Json = '{"mode":"apply","params":{"MinDaysLeft":30,"Issuers":[],"TrustedSelfSigned":[]},"rollbackTo":null}' }
            @{ Case = 'Fqdn as a one-element array'; Json = '{"mode":"apply","params":{"Fqdn":["exch01.corp.example"],"MinDaysLeft":30,"Issuers":[],"TrustedSelfSigned":[]},"rollbackTo":null}' }
            @{ Case = 'Fqdn an IP address'; Json = '{"mode":"apply","params":{"Fqdn":"10.0.0.21","MinDaysLeft":30,"Issuers":[],"TrustedSelfSigned":[]},"rollbackTo":null}' }
            @{ Case = 'Fqdn with a trailing line break'; Json = '{"mode":"apply","params":{"Fqdn":"exch01.corp.example\n","MinDaysLeft":30,"Issuers":[],"TrustedSelfSigned":[]},"rollbackTo":null}' }
            @{ Case = 'MinDaysLeft as text'; Json = '{"mode":"apply","params":{"Fqdn":"exch01.corp.example","MinDaysLeft":"30","Issuers":[],"TrustedSelfSigned":[]},"rollbackTo":null}' }
            @{ Case = 'MinDaysLeft true'; Json = '{"mode":"apply","params":{"Fqdn":"exch01.corp.example","MinDaysLeft":true,"Issuers":[],"TrustedSelfSigned":[]},"rollbackTo":null}' }
            @{ Case = 'MinDaysLeft fractional'; Json = '{"mode":"apply","params":{"Fqdn":"exch01.corp.example","MinDaysLeft":30.5,"Issuers":[],"TrustedSelfSigned":[]},"rollbackTo":null}' }
            @{ Case = 'MinDaysLeft 0'; Json = '{"mode":"apply","params":{"Fqdn":"exch01.corp.example","MinDaysLeft":0,"Issuers":[],"TrustedSelfSigned":[]},"rollbackTo":null}' }
            @{ Case = 'MinDaysLeft too large for an int'; Json = '{"mode":"apply","params":{"Fqdn":"exch01.corp.example","MinDaysLeft":99999999999,"Issuers":[],"TrustedSelfSigned":[]},"rollbackTo":null}' }
            @{ Case = 'MinDaysLeft missing'; Json = '{"mode":"apply","params":{"Fqdn":"exch01.corp.example","Issuers":[],"TrustedSelfSigned":[]},"rollbackTo":null}' }
            @{ Case = 'AllowSelfSigned (the parameter that once created certificates)'; Json = '{"mode":"apply","params":{"Fqdn":"exch01.corp.example","MinDaysLeft":30,"Issuers":[],"TrustedSelfSigned":[],"AllowSelfSigned":true},"rollbackTo":null}' }
            @{ Case = 'TrustedSelfSigned missing'; Json = '{"mode":"apply","params":{"Fqdn":"exch01.corp.example","MinDaysLeft":30,"Issuers":[]},"rollbackTo":null}' }
            @{ Case = 'TrustedSelfSigned null'; Json = '{"mode":"apply","params":{"Fqdn":"exch01.corp.example","MinDaysLeft":30,"Issuers":[],"TrustedSelfSigned":null},"rollbackTo":null}' }
            @{ Case = 'TrustedSelfSigned as a bare string'; Json = '{"mode":"apply","params":{"Fqdn":"exch01.corp.example","MinDaysLeft":30,"Issuers":[],"TrustedSelfSigned":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"},"rollbackTo":null}' }
            @{ Case = 'TrustedSelfSigned holding a wildcard'; Json = '{"mode":"apply","params":{"Fqdn":"exch01.corp.example","MinDaysLeft":30,"Issuers":[],"TrustedSelfSigned":["*"]},"rollbackTo":null}' }
            @{ Case = 'TrustedSelfSigned holding a thumbprint with a line break'; Json = '{"mode":"apply","params":{"Fqdn":"exch01.corp.example","MinDaysLeft":30,"Issuers":[],"TrustedSelfSigned":["AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n"]},"rollbackTo":null}' }
            @{ Case = 'Thumbprint null'; Json = '{"mode":"apply","params":{"Fqdn":"exch01.corp.example","MinDaysLeft":30,"Issuers":[],"TrustedSelfSigned":[],"Thumbprint":null},"rollbackTo":null}' }
            @{ Case = 'Thumbprint with a trailing line break'; Json = '{"mode":"apply","params":{"Fqdn":"exch01.corp.example","MinDaysLeft":30,"Issuers":[],"TrustedSelfSigned":[],"Thumbprint":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n"},"rollbackTo":null}' }
        ) {
            $machine = Use-HlHost -Profile fresh
            $machine.certificates = [object[]]@()
            $envelope = Invoke-Hl -RequestJson $Json
            $envelope.ok | Should -BeFalse
            $envelope.error.code | Should -Be 'InvalidInput'
            Get-SeamCall -Name Get-WinWsmanListener | Should -BeNullOrEmpty
            @(Get-Writes) | Should -BeNullOrEmpty
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
            @{ Case = 'the listener deleted between the check and the write (0x80338000, retried: it is created next time)'; Seam = 'Set-WinWsmanListener'; Setup = 'exchange'; Mode = 'apply'; Type = 'WSManResourceChanged'; Code = '0x80338000'
                Throw = { New-Fault -Kind NotFound -Verb Set } }
            @{ Case = 'the rollback''s remove refused: not elevated (fault Code 5)'; Seam = 'Remove-WinWsmanListener'; Setup = 'onboarded'; Mode = 'rollback'; Type = 'AccessDenied'; Code = '5'
                Throw = { New-Fault -Kind AccessDenied -Verb Remove } }
            @{ Case = 'the create refused: HTTP.sys holds a binding on 0.0.0.0:5986 since the check (183)'; Seam = 'New-WinWsmanListener'; Setup = 'fresh'; Mode = 'apply'; Type = 'ObjectAlreadyExists'; Code = '183'
                Throw = { New-Fault -Kind SslBindingExists -Verb New } }
        ) {
            $profile = 'fresh'
            if ($Setup -eq 'onboarded') { $profile = 'onboarded' }
            $machine = Use-HlHost -Profile $profile
            if ($Setup -eq 'exchange') { Add-HlListener -Machine $machine -Listener @{ hostname = 'EXCH01'; thumbprint = (Get-HlCertificate -Machine $machine -Kind exchange).thumbprint } | Out-Null }
            $listenersBefore = ConvertTo-Json -InputObject @($machine.listeners) -Depth 4
            $record = & $Throw
            Set-SeamFake -Name $Seam -ScriptBlock { throw $record }.GetNewClosure()
            $envelope = Invoke-Hl (New-HlRequest -Mode $Mode -RollbackTo ([ordered]@{ listener = $null; certificate = $null }))
            $envelope.ok | Should -BeFalse
            $envelope.changed | Should -BeFalse
            $envelope.error.code | Should -Be $Code
            Get-FailureType -Code $envelope.error.code -Class $envelope.error.class | Should -Be $Type
            ConvertTo-Json -InputObject @($machine.listeners) -Depth 4 | Should -Be $listenersBefore
        }

    }

    Context 'what Windows adds to the certificate rule' {
        It 'refuses to <Mode> a certificate that names the server only in its SAN: WinRM binds by CN (0x803380E9)' -ForEach @(
            @{ Mode = 'plan' }
            @{ Mode = 'apply' }
        ) {
            # The old rule took a SAN-only name (plan picked it, apply failed as WinRM refused it).
            $machine = Use-HlHost -Profile fresh
            $current = Get-HlCertificate -Machine $machine -Kind current
            $current.subject = 'CN=EXCH01'
            $current.dnsNames = [object[]]@('EXCH01', $script:Fqdn)
            $machine.certificates = [object[]]@($current)
            $envelope = Invoke-Hl (New-HlRequest -Mode $Mode)
            $envelope.error.code | Should -Be 'CertNameMismatch'
            Get-FailureType -Code $envelope.error.code -Class $envelope.error.class | Should -Be 'CertificateNameMismatch'
            $envelope.error.message | Should -BeLike "*$($current.thumbprint) (CN=EXCH01) name it only in the SAN*Enrol a certificate with CN=$($script:Fqdn).*"
            $envelope.evidence.candidates[0].problems | Should -Be @('fqdn-only-in-san')
            @(Get-Writes) | Should -BeNullOrEmpty
            @(Get-HttpsListeners -Machine $machine) | Should -BeNullOrEmpty
        }

        It 'refuses the san-only-cert profile (an Exchange SAN certificate and Exchange''s own): both name the server only in the SAN' {
            Use-HlHost -Profile 'san-only-cert' | Out-Null
            $envelope = Invoke-Hl (New-HlRequest -Mode plan)
            $envelope.error.code | Should -Be 'CertNameMismatch'
            foreach ($candidate in $envelope.evidence.candidates) {
                $candidate.problems | Should -Contain 'fqdn-only-in-san'
                $candidate.problems | Should -Contain 'bound-to-exchange'
            }
        }

        It 'skips a certificate bound to Exchange services, and says which services' {
            $machine = Use-HlHost -Profile fresh
            $current = Get-HlCertificate -Machine $machine -Kind current
            $older = Get-HlCertificate -Machine $machine -Kind older
            $services = @{}
            $services[$current.thumbprint] = @('IIS', 'SMTP')
            $machine | Add-Member -NotePropertyName exchangeCertificateServices -NotePropertyValue ([pscustomobject]$services) -Force
            $plan = Invoke-Hl (New-HlRequest -Mode plan)
            $plan.after.listener.thumbprint | Should -Be $older.thumbprint
            $report = @($plan.evidence.candidates | Where-Object { $_.thumbprint -eq $current.thumbprint })[0]
            $report.problems | Should -Be @('bound-to-exchange')
            $report.exchangeServices | Should -Be @('IIS', 'SMTP')
            $plan.warnings | Should -Not -Contain 'the Exchange Management Shell snap-in is not installed (or lists no certificate): certificates bound to Exchange services could not be excluded'
        }

        It 'says so when the Exchange snap-in is absent: bindings could not be excluded' {
            $machine = Use-HlHost -Profile fresh
            $machine.PSObject.Properties.Remove('exchangeCertificateServices')
            $plan = Invoke-Hl (New-HlRequest -Mode plan)
            $plan.ok | Should -BeTrue
            $plan.after.listener.thumbprint | Should -Be (Get-HlCertificate -Machine $machine -Kind current).thumbprint
            $plan.warnings | Should -Contain 'the Exchange Management Shell snap-in is not installed (or lists no certificate): certificates bound to Exchange services could not be excluded'
        }

        It 'stops <Mode> as PolicyControlled while ''Allow remote server management through WinRM'' has an empty IPv4 filter, and writes nothing' -ForEach @(
            @{ Mode = 'plan' }
            @{ Mode = 'apply' }
        ) {
            $machine = Use-HlHost -Profile 'gpo-winrm-ipv4-filter'
            $envelope = Invoke-Hl (New-HlRequest -Mode $Mode)
            $envelope.ok | Should -BeFalse
            $envelope.error.code | Should -Be 'PolicyControlled'
            $envelope.error.class | Should -Be 'policy'
            $envelope.error.message | Should -BeLike '*Allow remote server management through WinRM'' sets an empty IPv4 filter*listens on no IPv4 address*Not Configured*'
            @(Get-Writes) | Should -BeNullOrEmpty
            @(Get-HttpsListeners -Machine $machine) | Should -BeNullOrEmpty
        }

        It 'makes the listener under that policy when its IPv4 filter is *' {
            $machine = Use-HlHost -Profile 'gpo-winrm-ipv4-filter'
            $machine.winrmListenerPolicy.ipv4Filter = '*'
            $apply = Invoke-Hl (New-HlRequest -Mode apply)
            $apply.ok | Should -BeTrue
            @(Get-HttpsListeners -Machine $machine).Count | Should -Be 1
        }

        It 'loads the Exchange snap-in only when it is registered and not loaded, then asks Get-ExchangeCertificate' {
            Use-HlHost -Profile fresh | Out-Null
            $plan = Invoke-Hl (New-HlRequest -Mode plan)
            $plan.ok | Should -BeTrue
            $names = @(Get-SeamCall | Where-Object { @('Get-WinPSSnapin', 'Add-WinPSSnapin', 'Get-WinExchangeCertificate') -contains $_.Name } | ForEach-Object { $_.Name })
            $names | Should -Be @('Get-WinPSSnapin', 'Get-WinPSSnapin', 'Add-WinPSSnapin', 'Get-WinExchangeCertificate')
            @(Get-SeamCall -Name Get-WinPSSnapin)[0].Parameters.Registered | Should -BeTrue
            @(Get-SeamCall -Name Add-WinPSSnapin)[0].Parameters.Name | Should -Be 'Microsoft.Exchange.Management.PowerShell.SnapIn'
        }

        It 'asks for no snap-in where there is none to load (<Case>), and says bindings could not be excluded' -ForEach @(
            @{ Case = 'PowerShell 7, which has no snap-ins'; PsVersion = '7.4.6'; Registered = $true }
            @{ Case = 'Exchange''s snap-in not registered'; PsVersion = '5.1.17763.6414'; Registered = $false }
        ) {
            $machine = Use-HlHost -Profile fresh
            $machine.psVersion = $PsVersion
            if (-not $Registered) { $machine.PSObject.Properties.Remove('exchangeCertificateServices') }
            $plan = Invoke-Hl (New-HlRequest -Mode plan)
            $plan.ok | Should -BeTrue
            @(Get-SeamCall -Name Add-WinPSSnapin) | Should -BeNullOrEmpty
            @(Get-SeamCall -Name Get-WinExchangeCertificate) | Should -BeNullOrEmpty
            if (-not $Registered) { @(Get-SeamCall -Name Get-WinPSSnapin).Count | Should -Be 1 }
            else { @(Get-SeamCall -Name Get-WinPSSnapin) | Should -BeNullOrEmpty }
            $plan.warnings | Should -Contain 'the Exchange Management Shell snap-in is not installed (or lists no certificate): certificates bound to Exchange services could not be excluded'
        }

        It 'skips a CA-issued certificate whose chain this server does not trust (Test-Certificate -Policy SSL), and says why' {
            Use-HlHost -Profile 'untrusted-chain' | Out-Null
            $envelope = Invoke-Hl (New-HlRequest -Mode plan)
            $envelope.error.code | Should -Be 'NoSuitableCertificate'
            $envelope.error.message | Should -BeLike '*chain-untrusted*'
            $untrusted = @($envelope.evidence.candidates | Where-Object { $_.problems -contains 'chain-untrusted' })
            $untrusted.Count | Should -Be 2
            $untrusted[0].chainError | Should -BeLike '*CERT_E_UNTRUSTEDROOT*'
            # Asked once per certificate, and only of those that meet every other rule (a wrong name or an
            # Exchange binding would fail Test-Certificate too, or make it moot).
            $calls = @(Get-SeamCall -Name Test-WinCertificate)
            $calls.Count | Should -Be 2
            $calls[0].Parameters.DnsName | Should -Be $script:Fqdn
        }

        It 'refuses to <Mode> a listener over an HTTP.sys SSL binding no listener owns, naming the fix' -ForEach @(
            @{ Mode = 'plan' }
            @{ Mode = 'apply' }
        ) {
            $machine = Use-HlHost -Profile 'stale-ssl-binding'
            $envelope = Invoke-Hl (New-HlRequest -Mode $Mode)
            $envelope.error.code | Should -Be 'StaleSslBinding'
            Get-FailureType -Code $envelope.error.code -Class $envelope.error.class | Should -Be 'StaleSslBinding'
            $envelope.error.message | Should -BeLike "*0.0.0.0:5986 (certificate $((Get-HlCertificate -Machine $machine -Kind older).thumbprint.ToLowerInvariant()), application {afebb9ad-9b97-4a91-9ab5-daa4e5ef0c2f})*netsh http delete sslcert ipport=0.0.0.0:5986*"
            (Get-SeamCall -Name Get-WinHttpSslBinding)[0].Parameters.IpPort | Should -Be '0.0.0.0:5986'
            @(Get-Writes) | Should -BeNullOrEmpty
            @(Get-HttpsListeners -Machine $machine) | Should -BeNullOrEmpty
        }

        It 'reports a binding that serves another certificate than the listener''s, and the binding WinRM keeps otherwise' {
            $machine = Use-HlHost -Profile onboarded
            $bound = @(Get-HttpsListeners -Machine $machine)[0].thumbprint
            $kept = Invoke-Hl (New-HlRequest -Mode plan)
            $kept.compliant | Should -BeTrue
            $kept.evidence.sslBinding.certificateHash | Should -Be $bound.ToLowerInvariant()
            $kept.warnings | Should -Not -Match 'stale binding'
            $older = (Get-HlCertificate -Machine $machine -Kind older).thumbprint.ToLowerInvariant()
            $binding = [pscustomobject]@{ ipPort = '0.0.0.0:5986'; certificateHash = $older; appId = '{afebb9ad-9b97-4a91-9ab5-daa4e5ef0c2f}' }
            $machine | Add-Member -NotePropertyName httpSysSslBindings -NotePropertyValue ([object[]]@($binding)) -Force
            $plan = Invoke-Hl (New-HlRequest -Mode plan)
            $plan.ok | Should -BeTrue
            $plan.compliant | Should -BeTrue
            $plan.evidence.sslBinding.certificateHash | Should -Be $older
            ($plan.warnings -join "`n") | Should -BeLike "*serves certificate $older on 0.0.0.0:5986, not the listener's $bound*netsh http delete sslcert ipport=0.0.0.0:5986*"
        }

        It 'reads netsh''s output by value, whatever the language of its labels' {
            Use-HlHost -Profile fresh | Out-Null
            $german = [object[]]@('', 'SSL-Zertifikatbindungen:', '-------------------------', '', '    IP:Port                      : 0.0.0.0:5986', '    Zertifikathash               : 0123456789abcdef0123456789abcdef01234567', '    Anwendungs-ID                : {afebb9ad-9b97-4a91-9ab5-daa4e5ef0c2f}', '    Zertifikatspeichername       : MY', '')
            Set-SeamFake -Name Get-WinHttpSslBinding -ScriptBlock { param($IpPort) [pscustomobject]@{ ExitCode = 0; Lines = $german } }.GetNewClosure()
            $envelope = Invoke-Hl (New-HlRequest -Mode plan)
            $envelope.error.code | Should -Be 'StaleSslBinding'
            $envelope.error.message | Should -BeLike '*(certificate 0123456789abcdef0123456789abcdef01234567, application {afebb9ad-9b97-4a91-9ab5-daa4e5ef0c2f})*'
            $none = [object[]]@('', 'SSL-Zertifikatbindungen:', '-------------------------', '', 'Das System kann die angegebene Datei nicht finden.', '')
            Set-SeamFake -Name Get-WinHttpSslBinding -ScriptBlock { param($IpPort) [pscustomobject]@{ ExitCode = 1; Lines = $none } }.GetNewClosure()
            (Invoke-Hl (New-HlRequest -Mode plan)).ok | Should -BeTrue
        }
    }

    It 'prints only envelopes that match domain/envelope.ts and the step''s state schema (zod, via node)' {
        Assert-StepEnvelopeContract | Should -BeGreaterThan 100
    }
}
