<#
.SYNOPSIS
    Ensures one WinRM HTTPS listener bound to a certificate that meets the selection rule (step 3.3).
.DESCRIPTION
    The listener is found by Transport=HTTPS among the listeners WinRM enumerates (winrm/config/Listener,
    never by a Listener_<n> name); Compatibility listeners (IIS, port 443) are not ours and are ignored,
    and of several HTTPS listeners the Address=* one is managed. A certificate qualifies when it is in
    Cert:\LocalMachine\My, its subject CN is the FQDN (WinRM binds a listener only when the CN is its
    Hostname, 0x803380E9: a SAN-only match such as Exchange's CN=<computer name> or a CN=mail.<domain>
    certificate does not do), has the Server Authentication EKU (OID 1.3.6.1.5.5.7.3.1), has its private
    key, is valid now with more than MinDaysLeft days left, is not bound to Exchange services (IIS, SMTP,
    IMAP, POP, UM: Exchange renews and removes those), and either is self-signed and listed in
    TrustedSelfSigned (the Monosync servers trust exactly those) or was issued by one of Issuers (any issuer
    when the list is empty) and passes Test-Certificate -Policy SSL here. evidence.candidates says why each
    certificate was rejected. A listener whose certificate still qualifies keeps it (no churn); otherwise
    CA-issued beats self-signed, then the latest NotAfter wins. No certificate is ever created. An HTTP.sys
    SSL binding on 0.0.0.0:<port> that no listener owns is refused (StaleSslBinding, WinRM could not create
    the listener over it), one that serves another certificate than the listener's is reported; the fix is
    named, the binding is not touched. An existing listener is updated in place, hostname and thumbprint
    in one write (no window without a listener); a listener set by Group Policy is never written
    (PolicyControlled), nor is one made while 'Allow remote server management through WinRM' has an empty
    IPv4 filter (WinRM would listen on no IPv4 address with it: PolicyControlled, naming the fix). Rollback restores the saved port, host name and thumbprint, or removes a listener
    this step created, and needs that saved state. Certificates are never deleted.
.PARAMETER Mode
    plan, apply or rollback.
.PARAMETER Fqdn
    The server's DNS name, as clients connect to it.
.PARAMETER MinDaysLeft
    Reject certificates with this many days or fewer left.
.PARAMETER Issuers
    Allowed issuer DNs; empty = any issuer.
.PARAMETER TrustedSelfSigned
    Thumbprints of the self-signed certificates the Monosync servers already trust; no other self-signed
    certificate qualifies.
.PARAMETER Thumbprint
    Pin this certificate instead of choosing one; it must still meet every rule.
.PARAMETER RequestBase64
    Base64 of UTF-8 JSON {mode, params, rollbackTo}; how the Monosync worker passes values.
.PARAMETER RollbackToJson
    For rollback by hand: the earlier 'before' state as JSON,
    {"listener":{"port":5986,"hostname":"exch01.corp.example","thumbprint":"<40 hex>"},"certificate":{...}}
    or {"listener":null,"certificate":null}.
.EXAMPLE
    .\Set-HttpsListener.ps1 -Mode plan -Fqdn exch01.corp.example -MinDaysLeft 30 -Issuers @() -TrustedSelfSigned @()
#>
[CmdletBinding()]
param(
    [Parameter(Position = 0)]
    [string]$RequestBase64,
    [ValidateSet('plan', 'apply', 'rollback')]
    [string]$Mode = 'plan',
    # \z, not $: '$' also matches before a trailing newline. A last label of digits is an IP address.
    [ValidatePattern('^(?=.{1,253}\z)(?!.*\.[0-9]+\z)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\z')]
    [string]$Fqdn,
    [ValidateRange(1, 365)]
    [int]$MinDaysLeft = 30,
    # As steps/Set-HttpsListener/step.ts: 3 to 400 characters, no quote (typographic ones included), $ ; | & or control character.
    [AllowEmptyCollection()]
    [ValidateLength(3, 400)]
    [ValidatePattern('^[^\x00-\x1F\x7F''"`$;|&\u2018-\u201E]+\z')]
    [string[]]$Issuers = @(),
    [AllowEmptyCollection()]
    [ValidatePattern('^[0-9A-Fa-f]{40}\z')]
    [string[]]$TrustedSelfSigned = @(),
    [ValidatePattern('^[0-9A-Fa-f]{40}\z')]
    [string]$Thumbprint,
    [string]$RollbackToJson
)

#monosync-common: the helpers of powershell/MonosyncCommon.ps1 go here (fleet script <step> writes the whole script)

$script:ScriptName = 'Set-HttpsListener'
$script:Target = Get-LocalFqdn
$ServerAuthOid = '1.3.6.1.5.5.7.3.1'
$EkuExtensionOid = '2.5.29.37'
# The Exchange Management Shell's snap-in (Exchange 2013 to 2019), which Get-ExchangeCertificate comes from.
$ExchangeSnapIn = 'Microsoft.Exchange.Management.PowerShell.SnapIn'
$StorePath = 'Cert:\LocalMachine\My'
$DefaultHttpsPort = 5986
$RequestParams = @('Fqdn', 'MinDaysLeft', 'Issuers', 'TrustedSelfSigned', 'Thumbprint')
# What a saved listener can hold (what rollback writes back): a DNS or NetBIOS name or nothing, and a
# thumbprint of 40 hex digits or nothing.
$SavedHostnamePattern = '^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*)?\z'
$SavedThumbprintPattern = '^(?:[0-9A-Fa-f]{40})?\z'

function Get-IntegerParam {
    # A JSON number without a fraction within Minimum..Maximum; InvalidInput for anything else (a string,
    # a boolean and null included: [int] would turn '30' and $true into numbers).
    param($Object, [string]$Name, [long]$Minimum, [long]$Maximum)
    $value = Get-RequestMember -Object $Object -Name $Name
    $isNumber = ($value -is [int] -or $value -is [long] -or $value -is [double] -or $value -is [decimal])
    if (-not $isNumber -or [Math]::Floor($value) -ne $value -or $value -lt $Minimum -or $value -gt $Maximum) {
        throw (New-InvalidInput -Message "$Name must be a whole number from $Minimum to $Maximum")
    }
    return [long]$value
}

function Get-ListenerField {
    # A field of a listener as WinRM enumerates it ('' when absent: Source exists only on listeners that are
    # not local configuration, and strict mode throws on a missing property).
    param($Listener, [string]$Name)
    $property = $Listener.PSObject.Properties[$Name]
    if ($null -eq $property -or $null -eq $property.Value) { return '' }
    return [string]$property.Value
}

function Get-HttpsListener {
    # The managed HTTPS listener ($null when none): Address, Source, Port, Hostname, Thumbprint.
    $found = New-Object -TypeName 'System.Collections.Generic.List[object]'
    foreach ($item in @(Get-WinWsmanListener)) {
        if ((Get-ListenerField -Listener $item -Name 'Transport') -ne 'HTTPS') { continue }
        $source = Get-ListenerField -Listener $item -Name 'Source'
        if ($source -eq 'Compatibility') { continue }
        $port = 0
        [void][int]::TryParse((Get-ListenerField -Listener $item -Name 'Port'), [ref]$port)
        $found.Add([pscustomobject]@{
                Address    = Get-ListenerField -Listener $item -Name 'Address'
                Source     = $source
                Port       = $port
                Hostname   = Get-ListenerField -Listener $item -Name 'Hostname'
                Thumbprint = (Get-ListenerField -Listener $item -Name 'CertificateThumbprint').Replace(' ', '').ToUpperInvariant()
            })
    }
    if ($found.Count -eq 0) { return $null }
    if ($found.Count -gt 1) { $script:Warnings.Add(('{0} HTTPS listeners exist; the Address=* one is managed' -f $found.Count)) }
    foreach ($listener in $found) { if ($listener.Address -eq '*') { return $listener } }
    return $found[0]
}

function Test-ServerAuth {
    param($Certificate)
    foreach ($extension in @($Certificate.Extensions)) {
        if ([string]$extension.Oid.Value -ne $EkuExtensionOid) { continue }
        foreach ($usage in @($extension.EnhancedKeyUsages)) { if ([string]$usage.Value -eq $ServerAuthOid) { return $true } }
    }
    return $false
}

function Get-DnsNames {
    # The certificate's DNS names (the certificate provider's DnsNameList, a ScriptProperty that is $null
    # when its getter fails: $null | ForEach-Object would run once on $null); the comma keeps a one-name
    # list a list and an empty one an empty list.
    param($Certificate)
    $names = New-Object -TypeName 'System.Collections.Generic.List[string]'
    $list = $Certificate.PSObject.Properties['DnsNameList']
    if ($null -eq $list) { return , $names.ToArray() }
    foreach ($entry in @($list.Value)) {
        if ($null -eq $entry) { continue }
        $unicode = $entry.PSObject.Properties['Unicode']
        if ($null -ne $unicode -and $null -ne $unicode.Value) { $names.Add([string]$unicode.Value) }
    }
    return , $names.ToArray()
}

function ConvertTo-IsoDate {
    # UTC with milliseconds, as JavaScript's Date.toISOString() writes it (culture-independent).
    param([DateTime]$Date)
    return $Date.ToUniversalTime().ToString("yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fff'Z'", [System.Globalization.CultureInfo]::InvariantCulture)
}

function Test-SelfSigned {
    param($Certificate)
    return ([string]$Certificate.Subject -eq [string]$Certificate.Issuer)
}

function ConvertTo-CertificateInfo {
    param($Certificate)
    if ($null -eq $Certificate) { return $null }
    return [ordered]@{
        thumbprint    = [string]$Certificate.Thumbprint
        subject       = [string]$Certificate.Subject
        issuer        = [string]$Certificate.Issuer
        dnsNames      = Get-DnsNames -Certificate $Certificate
        notBefore     = ConvertTo-IsoDate -Date $Certificate.NotBefore
        notAfter      = ConvertTo-IsoDate -Date $Certificate.NotAfter
        hasPrivateKey = [bool]$Certificate.HasPrivateKey
        serverAuth    = Test-ServerAuth -Certificate $Certificate
        selfSigned    = Test-SelfSigned -Certificate $Certificate
    }
}

function ConvertTo-NormalDn {
    param([string]$Dn)
    return ((($Dn -split ',') | ForEach-Object { $_.Trim() -replace '\s*=\s*', '=' }) -join ',').ToLowerInvariant()
}

function Get-CertificateProblems {
    # What keeps a certificate from backing the listener, in the order lab/certificates.ts checks it.
    param($Certificate)
    $problems = @()
    $now = [DateTime]::UtcNow
    $names = Get-DnsNames -Certificate $Certificate
    $cn = [string]$Certificate.GetNameInfo('SimpleName', $false)
    $thumbprint = ([string]$Certificate.Thumbprint).ToUpperInvariant()
    # -contains and -eq compare case-insensitively and literally (no regex, no wildcard).
    if ($cn -ne $Fqdn) {
        if ($names -contains $Fqdn) { $problems += 'fqdn-only-in-san' } else { $problems += 'name-mismatch' }
    }
    if (-not $Certificate.HasPrivateKey) { $problems += 'no-private-key' }
    if (-not (Test-ServerAuth -Certificate $Certificate)) { $problems += 'no-server-auth' }
    if ($Certificate.NotBefore.ToUniversalTime() -gt $now) { $problems += 'not-yet-valid' }
    if ($Certificate.NotAfter.ToUniversalTime() -le $now) { $problems += 'expired' }
    elseif ($Certificate.NotAfter.ToUniversalTime() -le $now.AddDays($MinDaysLeft)) { $problems += 'too-few-days-left' }
    $selfSigned = Test-SelfSigned -Certificate $Certificate
    if ($selfSigned) {
        # Its own issuer, so the allow-list cannot name it: the Monosync side's trust is what counts.
        if ($null -eq (Find-OrdinalMatch -Set $TrustedSelfSigned -Value $thumbprint -IgnoreCase)) { $problems += 'self-signed-not-trusted-by-monosync' }
    } elseif (@($Issuers).Count -gt 0) {
        $allowed = @($Issuers | ForEach-Object { ConvertTo-NormalDn -Dn $_ })
        if ($allowed -notcontains (ConvertTo-NormalDn -Dn $Certificate.Issuer)) { $problems += 'issuer-not-allowed' }
    }
    if ((Get-ExchangeServices -Thumbprint $thumbprint).Count -gt 0) { $problems += 'bound-to-exchange' }
    # The chain check last, and only for a CA-issued certificate that meets every other rule: Test-Certificate
    # also fails for a wrong name or date, and a self-signed one is the Monosync side's to trust.
    if ($problems.Count -eq 0 -and -not $selfSigned -and (Get-ChainError -Certificate $Certificate) -ne '') { $problems += 'chain-untrusted' }
    return , [string[]]$problems
}

function Get-ExchangeServices {
    # The Exchange services bound to a certificate (Read-ExchangeServices fills the table); empty when none.
    param([string]$Thumbprint)
    $services = $script:ExchangeServices[$Thumbprint]
    if ($null -eq $services) { return , [string[]]@() }
    return , [string[]]$services
}

function Get-ExchangeCertificateList {
    # Get-ExchangeCertificate through the Exchange Management Shell snap-in, loaded when registered; NOTHING
    # when it is not (Exchange not installed, or removed) or cannot be (PowerShell 6 and later have no
    # snap-ins: the local runner's pwsh). The caller cannot tell that from a server without certificates.
    if ([int](([string](Get-WinPowerShellVersion)).Split('.')[0]) -ge 6) { return }
    $registered = @(Get-WinPSSnapin -Registered | Where-Object { [string]$_.Name -eq $ExchangeSnapIn })
    if ($registered.Count -eq 0) { return }
    $loaded = @(Get-WinPSSnapin | Where-Object { [string]$_.Name -eq $ExchangeSnapIn })
    if ($loaded.Count -eq 0) { Add-WinPSSnapin -Name $ExchangeSnapIn }
    Get-WinExchangeCertificate
}

function Read-ExchangeServices {
    # Exchange's certificate bindings, by thumbprint. Get-ExchangeCertificate's Services reads 'IIS, SMTP' or
    # 'None'. No certificate at all means the snap-in is absent (Exchange always holds at least its own).
    $script:ExchangeServices = @{}
    $found = @(Get-ExchangeCertificateList)
    if ($found.Count -eq 0) { $script:Warnings.Add('the Exchange Management Shell snap-in is not installed (or lists no certificate): certificates bound to Exchange services could not be excluded') }
    foreach ($certificate in $found) {
        $services = [string[]]@(([string]$certificate.Services) -split ',' | ForEach-Object { $_.Trim() } | Where-Object { $_ -ne '' -and $_ -ne 'None' })
        $script:ExchangeServices[([string]$certificate.Thumbprint).ToUpperInvariant()] = $services
    }
}

function Get-ChainError {
    # Test-Certificate's verdict on the certificate for the FQDN, asked once per certificate: '' when it
    # passes, else its messages.
    param($Certificate)
    $thumbprint = ([string]$Certificate.Thumbprint).ToUpperInvariant()
    if (-not $script:ChainErrors.ContainsKey($thumbprint)) {
        $result = Test-WinCertificate -Certificate $Certificate -DnsName $Fqdn
        $text = ''
        if (-not $result.Valid) {
            $text = (@($result.Errors) -join ' ').Trim()
            if ($text -eq '') { $text = 'Test-Certificate -Policy SSL failed' }
        }
        $script:ChainErrors[$thumbprint] = $text
    }
    return $script:ChainErrors[$thumbprint]
}

function Get-SslBinding {
    # HTTP.sys's SSL binding on 0.0.0.0:<Port> ($null when none): {ipPort, certificateHash, appId}. Read by
    # value, not by label: netsh writes the labels in the server's language.
    param([int]$Port)
    $ipPort = "0.0.0.0:$Port"
    $result = Get-WinHttpSslBinding -IpPort $ipPort
    $hash = ''
    $appId = ''
    foreach ($line in @($result.Lines)) {
        $text = [string]$line
        $hashMatch = [regex]::Match($text, '\s:\s*([0-9A-Fa-f]{40})\s*\z')
        $appMatch = [regex]::Match($text, '\s:\s*(\{[0-9A-Fa-f-]{36}\})\s*\z')
        if ($hashMatch.Success -and $hash -eq '') { $hash = $hashMatch.Groups[1].Value }
        if ($appMatch.Success -and $appId -eq '') { $appId = $appMatch.Groups[1].Value }
    }
    if ($hash -eq '') { return $null }
    return [ordered]@{ ipPort = $ipPort; certificateHash = $hash; appId = $appId }
}

function Assert-SslBinding {
    # A binding no listener owns makes WinRM's create fail (183, it exists): refused with the fix. One under
    # the listener that serves another certificate is reported. Deleting either is an operator's decision.
    param($Binding, $Listener)
    if ($null -eq $Binding) { return }
    $fix = "netsh http delete sslcert ipport=$($Binding.ipPort)"
    if ($null -eq $Listener -or $Listener.Address -ne '*') {
        throw (New-StepError -Code 'StaleSslBinding' -Class 'permanent' -Message "HTTP.sys holds an SSL binding on $($Binding.ipPort) (certificate $($Binding.certificateHash), application $($Binding.appId)) that no WinRM listener owns, so WinRM cannot create its listener there. Remove it ($fix) if nothing else uses it, then retry.")
    }
    if ($Binding.certificateHash -ne $Listener.Thumbprint) {
        $script:Warnings.Add("HTTP.sys serves certificate $($Binding.certificateHash) on $($Binding.ipPort), not the listener's $($Listener.Thumbprint): a stale binding. Remove it ($fix) and run this step again.")
    }
}

function Test-Timely {
    param([string[]]$Problems)
    return -not ($Problems -contains 'expired' -or $Problems -contains 'too-few-days-left' -or $Problems -contains 'not-yet-valid')
}

function Get-StoreCertificates {
    # The store's certificates, unrolled: callers pipe them or wrap the call in @().
    return (Get-WinCertificate -Path $StorePath)
}

function Find-StoreCertificate {
    param([string]$Wanted)
    return (Get-StoreCertificates | Where-Object { $_.Thumbprint -eq $Wanted } | Select-Object -First 1)
}

function Get-CandidateReport {
    # Every certificate of the store with what keeps it from qualifying (evidence.candidates).
    param($Store)
    $reports = New-Object -TypeName 'System.Collections.Generic.List[object]'
    foreach ($certificate in $Store) {
        $problems = Get-CertificateProblems -Certificate $certificate
        $chainError = ''
        if ($problems -contains 'chain-untrusted') { $chainError = Get-ChainError -Certificate $certificate }
        $reports.Add([ordered]@{
                thumbprint = [string]$certificate.Thumbprint
                subject    = [string]$certificate.Subject
                issuer     = [string]$certificate.Issuer
                notAfter   = ConvertTo-IsoDate -Date $certificate.NotAfter
                selfSigned       = Test-SelfSigned -Certificate $certificate
                problems         = $problems
                exchangeServices = Get-ExchangeServices -Thumbprint ([string]$certificate.Thumbprint).ToUpperInvariant()
                chainError       = $chainError
            })
    }
    return , $reports.ToArray()
}

function Select-Certificate {
    # The certificate to bind: the pinned one, else the bound one while it qualifies, else the rule's winner;
    # otherwise throws the most specific reason (lab/certificates.ts noCertificateError, in the same order).
    param($Store, $Bound)
    if ($Thumbprint) {
        $pinned = @($Store | Where-Object { $_.Thumbprint -eq $Thumbprint })
        if ($pinned.Count -eq 0) { throw (New-StepError -Code 'NoSuitableCertificate' -Class 'permanent' -Message "The certificate $Thumbprint is not in $StorePath.") }
        $problems = Get-CertificateProblems -Certificate $pinned[0]
        if ($problems.Count -eq 0) { return $pinned[0] }
        if ($problems -contains 'name-mismatch' -or $problems -contains 'fqdn-only-in-san') { throw (New-StepError -Code 'CertNameMismatch' -Class 'permanent' -Message "The certificate CN and the hostname that were provided do not match: $Thumbprint ($($pinned[0].Subject)) is not CN=$Fqdn.") }
        if ($problems -contains 'no-private-key') { throw (New-StepError -Code 'CertNoPrivateKey' -Class 'permanent' -Message "The certificate $Thumbprint has no private key.") }
        if (-not (Test-Timely -Problems $problems)) { throw (New-StepError -Code 'CertExpired' -Class 'permanent' -Message "The certificate $Thumbprint is not valid for $MinDaysLeft more days.") }
        throw (New-StepError -Code 'NoSuitableCertificate' -Class 'permanent' -Message ("The certificate $Thumbprint is not suitable: " + ($problems -join ', ')))
    }
    if ($null -ne $Bound -and (Get-CertificateProblems -Certificate $Bound).Count -eq 0) { return $Bound }
    # CA-issued before self-signed, then latest NotAfter, latest NotBefore, lowest thumbprint: one winner on every run.
    $order = @(
        @{ Expression = { Test-SelfSigned -Certificate $_ } },
        @{ Expression = { $_.NotAfter }; Descending = $true },
        @{ Expression = { $_.NotBefore }; Descending = $true },
        @{ Expression = { [string]$_.Thumbprint } }
    )
    $qualifying = @($Store | Where-Object { (Get-CertificateProblems -Certificate $_).Count -eq 0 } | Sort-Object -Property $order)
    if ($qualifying.Count -gt 0) { return $qualifying[0] }
    $named = @($Store | Where-Object { (Get-CertificateProblems -Certificate $_) -notcontains 'name-mismatch' -and (Get-CertificateProblems -Certificate $_) -notcontains 'fqdn-only-in-san' })
    if ($named.Count -eq 0) {
        $sanOnly = @($Store | Where-Object { (Get-CertificateProblems -Certificate $_) -contains 'fqdn-only-in-san' })
        if ($sanOnly.Count -gt 0) {
            $listed = ($sanOnly | ForEach-Object { '{0} ({1})' -f $_.Thumbprint, $_.Subject }) -join ', '
            throw (New-StepError -Code 'CertNameMismatch' -Class 'permanent' -Message "No certificate in $StorePath has CN=$($Fqdn): $listed name it only in the SAN, and WinRM binds a listener only when the subject CN is its Hostname (0x803380E9). Enrol a certificate with CN=$Fqdn.")
        }
        throw (New-StepError -Code 'NoSuitableCertificate' -Class 'permanent' -Message "No certificate in $StorePath names $Fqdn.")
    }
    $withKey = @($named | Where-Object { $_.HasPrivateKey })
    if ($withKey.Count -eq 0) { throw (New-StepError -Code 'CertNoPrivateKey' -Class 'permanent' -Message "The certificate for $Fqdn in $StorePath has no private key.") }
    $timely = @($withKey | Where-Object { Test-Timely -Problems (Get-CertificateProblems -Certificate $_) })
    if ($timely.Count -eq 0) {
        # A successor that names the server only in its SAN is what the operator must re-enrol: say so.
        $message = "Every certificate for $Fqdn has expired or has $MinDaysLeft days or fewer left."
        $sanOnly = @($Store | Where-Object { (Get-CertificateProblems -Certificate $_) -contains 'fqdn-only-in-san' } | ForEach-Object { [string]$_.Thumbprint })
        if ($sanOnly.Count -gt 0) { $message += " $($sanOnly -join ', ') name it only in the SAN, which WinRM does not bind: enrol one with CN=$Fqdn." }
        throw (New-StepError -Code 'CertExpired' -Class 'permanent' -Message $message)
    }
    $reasons = ($withKey | ForEach-Object { '{0}: {1}' -f $_.Thumbprint, ((Get-CertificateProblems -Certificate $_) -join ', ') }) -join '; '
    throw (New-StepError -Code 'NoSuitableCertificate' -Class 'permanent' -Message "No certificate for $Fqdn meets the rules. Rejected: $reasons.")
}

function Get-ListenerState {
    param($Listener)
    if ($null -eq $Listener) { return [ordered]@{ listener = $null; certificate = $null } }
    $certificate = $null
    if ($Listener.Thumbprint) { $certificate = Find-StoreCertificate -Wanted $Listener.Thumbprint }
    return [ordered]@{
        listener    = [ordered]@{ port = $Listener.Port; hostname = $Listener.Hostname; thumbprint = $Listener.Thumbprint }
        certificate = ConvertTo-CertificateInfo -Certificate $certificate
    }
}

function Assert-NotPolicyListener {
    param($Listener)
    if ($null -ne $Listener -and $Listener.Source -eq 'GPO') {
        throw (New-StepError -Code 'PolicyControlled' -Class 'policy' -Message 'The HTTPS listener is set by Group Policy (Source=GPO); change the GPO, this step does not write it')
    }
}

function Set-ListenerBinding {
    # Creates the listener or updates it in place: port, host name and thumbprint in one write.
    param($Listener, [int]$Port, [string]$Hostname, [string]$CertificateThumbprint)
    $values = @{ Hostname = $Hostname; CertificateThumbprint = $CertificateThumbprint; Port = [string]$Port; Enabled = 'true' }
    if ($null -eq $Listener) {
        New-WinWsmanListener -Address '*' -Transport 'HTTPS' -ValueSet $values
    } else {
        Set-WinWsmanListener -Address $Listener.Address -Transport 'HTTPS' -ValueSet $values
    }
}

function Assert-ListenerRollbackState {
    # A rollback acts only on the complete saved state (listenerStateSchema of step.ts): listener null or
    # {port, hostname, thumbprint}, certificate null or every CertificateInfo field; and only on values a
    # listener can hold, so no hostile text reaches WinRM.
    param($State)
    $problem = "$script:ScriptName -Mode rollback needs the step's earlier state (rollbackTo with listener and certificate)"
    if ($State -isnot [System.Management.Automation.PSCustomObject]) { throw (New-InvalidInput -Message $problem) }
    # Not .PSObject.Properties.Name: on an empty object ({}) strict mode throws for that member enumeration.
    $names = [string[]]@(foreach ($property in $State.PSObject.Properties) { $property.Name })
    if ($null -eq (Find-OrdinalMatch -Set $names -Value 'listener') -or $null -eq (Find-OrdinalMatch -Set $names -Value 'certificate')) { throw (New-InvalidInput -Message $problem) }
    $certificate = $State.certificate
    if ($null -ne $certificate) {
        Assert-RollbackState -State $certificate -Script $script:ScriptName -Strings @('thumbprint', 'subject', 'issuer') -Booleans @('hasPrivateKey', 'serverAuth', 'selfSigned')
        # PowerShell 7's ConvertFrom-Json turns ISO dates into DateTime; Windows PowerShell 5.1 keeps the text.
        foreach ($name in 'notBefore', 'notAfter') {
            $date = Get-RequestMember -Object $certificate -Name $name
            if ($date -isnot [string] -and $date -isnot [DateTime]) { throw (New-InvalidInput -Message $problem) }
        }
        $dnsNames = Get-RequestMember -Object $certificate -Name 'dnsNames'
        if ($dnsNames -isnot [System.Array] -or @($dnsNames | Where-Object { $_ -isnot [string] }).Count -gt 0) { throw (New-InvalidInput -Message $problem) }
    }
    $listener = $State.listener
    if ($null -eq $listener) { return }
    Assert-RollbackState -State $listener -Script $script:ScriptName -Strings @('hostname', 'thumbprint')
    $port = Get-RequestMember -Object $listener -Name 'port'
    $isNumber = ($port -is [int] -or $port -is [long] -or $port -is [double] -or $port -is [decimal])
    if (-not $isNumber -or [Math]::Floor($port) -ne $port -or $port -lt 1 -or $port -gt 65535) { throw (New-InvalidInput -Message "$problem; rollbackTo.listener.port is not a TCP port") }
    if ($listener.hostname -cnotmatch $SavedHostnamePattern) { throw (New-InvalidInput -Message 'rollbackTo.listener.hostname is not a host name') }
    if ($listener.thumbprint -cnotmatch $SavedThumbprintPattern) { throw (New-InvalidInput -Message 'rollbackTo.listener.thumbprint is not a certificate thumbprint') }
}

try {
    $step = Read-StepRequest -Encoded $RequestBase64 -Mode $Mode -RollbackToJson $RollbackToJson
    $Mode = $step.Mode
    $RollbackTo = $step.RollbackTo
    $params = Get-MonosyncRequestParams -Step $step -Names $RequestParams
    if ($null -ne $params) {
        # Assigning re-runs the parameters' Validate* attributes: a bad value throws InvalidInput here.
        $Fqdn = Get-RequestString -Object $params -Name 'Fqdn'
        $MinDaysLeft = Get-IntegerParam -Object $params -Name 'MinDaysLeft' -Minimum 1 -Maximum 365
        if ($null -eq (Get-RequestMember -Object $params -Name 'Issuers')) { throw (New-InvalidInput -Message 'Issuers must be an array of strings') }
        $Issuers = Get-RequestStringList -Object $params -Name 'Issuers'
        if ($null -eq (Get-RequestMember -Object $params -Name 'TrustedSelfSigned')) { throw (New-InvalidInput -Message 'TrustedSelfSigned must be an array of thumbprints') }
        $TrustedSelfSigned = Get-RequestStringList -Object $params -Name 'TrustedSelfSigned'
        if (Test-RequestMember -Object $params -Name 'Thumbprint') {
            $pinned = Get-RequestString -Object $params -Name 'Thumbprint'
            if ($null -eq $pinned) { throw (New-InvalidInput -Message 'Thumbprint must be a string') }
            $Thumbprint = $pinned
        }
    }
    if (-not $Fqdn) { throw (New-InvalidInput -Message 'Fqdn is required') }
    if ($Thumbprint) { $Thumbprint = $Thumbprint.ToUpperInvariant() }

    if ($Mode -eq 'rollback') {
        # Never act without the saved state: without it, rollback once removed the listener.
        Assert-ListenerRollbackState -State $RollbackTo
        $listener = Get-HttpsListener
        $before = Get-ListenerState -Listener $listener
        $old = $RollbackTo.listener
        $changed = $false
        if ($null -eq $old) {
            if ($null -ne $listener) {
                Assert-NotPolicyListener -Listener $listener
                Remove-WinWsmanListener -Address $listener.Address -Transport 'HTTPS'
                $changed = $true
            }
        } else {
            $oldPort = [int]$old.port
            $oldHostname = [string]$old.hostname
            $oldThumbprint = [string]$old.thumbprint
            # Exactly what was saved: case and port included.
            $same = ($null -ne $listener -and $listener.Port -eq $oldPort -and $listener.Hostname -ceq $oldHostname -and $listener.Thumbprint -ceq $oldThumbprint)
            if (-not $same) {
                if ($oldThumbprint -eq '' -or $null -eq (Find-StoreCertificate -Wanted $oldThumbprint)) {
                    $script:Warnings.Add("the previous certificate $oldThumbprint is gone; the binding stays as it is")
                } else {
                    Assert-NotPolicyListener -Listener $listener
                    Set-ListenerBinding -Listener $listener -Port $oldPort -Hostname $oldHostname -CertificateThumbprint $oldThumbprint
                    $changed = $true
                }
            }
        }
        $after = $before
        if ($changed) { $after = Get-ListenerState -Listener (Get-HttpsListener) }
        Write-StepResult -StepMode $Mode -Compliant (-not $changed) -Changed $changed -Before $before -After $after
        return
    }

    # 'Allow remote server management through WinRM' with an empty IPv4 filter leaves every listener, this one
    # too, without an IPv4 address: reported for an operator before anything is read or written.
    $policyProblem = Get-WinRMListenerPolicyProblem -Policy (Get-WinRMListenerPolicy)
    if ($null -ne $policyProblem) { throw (New-StepError -Code 'PolicyControlled' -Class 'policy' -Message $policyProblem) }
    $listener = Get-HttpsListener
    $before = Get-ListenerState -Listener $listener
    $script:ChainErrors = @{}
    Read-ExchangeServices
    $store = @(Get-StoreCertificates)
    $bound = $null
    if ($null -ne $listener -and $listener.Thumbprint) { $bound = $store | Where-Object { $_.Thumbprint -eq $listener.Thumbprint } | Select-Object -First 1 }
    # Before the choice, so a refusal carries why each certificate was rejected.
    $script:Evidence['candidates'] = Get-CandidateReport -Store $store
    $chosen = Select-Certificate -Store $store -Bound $bound
    $port = $DefaultHttpsPort
    if ($null -ne $listener) { $port = $listener.Port }
    $binding = Get-SslBinding -Port $port
    Assert-SslBinding -Binding $binding -Listener $listener
    $script:Evidence['selectedThumbprint'] = [string]$chosen.Thumbprint
    $script:Evidence['selfSigned'] = Test-SelfSigned -Certificate $chosen
    $script:Evidence['sslBinding'] = $binding

    $listenerOk = ($null -ne $listener -and $listener.Thumbprint -eq [string]$chosen.Thumbprint -and $listener.Hostname -eq $Fqdn)
    if ($listenerOk) {
        Write-StepResult -StepMode $Mode -Compliant $true -Changed $false -Before $before -After $before
        return
    }
    Assert-NotPolicyListener -Listener $listener

    if ($Mode -eq 'plan') {
        $predicted = [ordered]@{
            listener    = [ordered]@{ port = $port; hostname = $Fqdn; thumbprint = [string]$chosen.Thumbprint }
            certificate = ConvertTo-CertificateInfo -Certificate $chosen
        }
        Write-StepResult -StepMode $Mode -Compliant $false -Changed $true -Before $before -After $predicted
        return
    }

    Set-ListenerBinding -Listener $listener -Port $port -Hostname $Fqdn -CertificateThumbprint ([string]$chosen.Thumbprint)
    Write-StepResult -StepMode $Mode -Compliant $false -Changed $true -Before $before -After (Get-ListenerState -Listener (Get-HttpsListener))
} catch {
    Write-StepFailure -Record $_ -StepMode $Mode
}
