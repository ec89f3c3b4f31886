<#
.SYNOPSIS
    Ensures one WinRM HTTPS listener bound to a certificate that meets the selection rule (step 3.3).
.DESCRIPTION
    The listener is found by Transport=HTTPS among the listeners WinRM enumerates (winrm/config/Listener,
    never by a Listener_<n> name); Compatibility listeners (IIS, port 443) are not ours and are ignored,
    and of several HTTPS listeners the Address=* one is managed. A certificate qualifies when it is in
    Cert:\LocalMachine\My, names the FQDN (SAN DNS name or subject CN), has the Server Authentication EKU
    (OID 1.3.6.1.5.5.7.3.1), has its private key, is valid now with more than MinDaysLeft days left and,
    unless self-signed and allowed, was issued by one of Issuers (any issuer when the list is empty). A
    listener whose certificate still qualifies keeps it (no churn); otherwise CA-issued beats self-signed,
    then the latest NotAfter wins. A self-signed certificate is created only with AllowSelfSigned, at
    apply (a plan cannot know its thumbprint and reports none). An existing listener is updated in place,
    hostname and thumbprint in one write (no window without a listener); a listener set by Group Policy is
    never written (PolicyControlled). Rollback restores the saved port, host name and thumbprint, or
    removes a listener this step created, and needs that saved state. Certificates are never deleted.
.PARAMETER Mode
    plan, apply or rollback.
.PARAMETER Fqdn
    The server's DNS name, as clients connect to it.
.PARAMETER MinDaysLeft
    Reject certificates with this many days or fewer left.
.PARAMETER Issuers
    Allowed issuer DNs; empty = any issuer.
.PARAMETER AllowSelfSigned
    Create (and accept) a self-signed certificate when no CA-issued one qualifies.
.PARAMETER Thumbprint
    Pin this certificate instead of choosing one; it must still meet every rule.
.PARAMETER RequestBase64
    Base64 of UTF-8 JSON {mode, params, rollbackTo}; how the Monosync worker passes values.
.PARAMETER RollbackToJson
    For rollback by hand: the earlier 'before' state as JSON,
    {"listener":{"port":5986,"hostname":"exch01.corp.example","thumbprint":"<40 hex>"},"certificate":{...}}
    or {"listener":null,"certificate":null}.
.EXAMPLE
    .\Set-HttpsListener.ps1 -Mode plan -Fqdn exch01.corp.example -MinDaysLeft 30 -Issuers @() -AllowSelfSigned $false
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
    [bool]$AllowSelfSigned = $false,
    [ValidatePattern('^[0-9A-Fa-f]{40}\z')]
    [string]$Thumbprint,
    [string]$RollbackToJson
)

#monosync-common: the helpers of powershell/MonosyncCommon.ps1 go here (fleet script <step> writes the whole script)

$script:ScriptName = 'Set-HttpsListener'
$script:Target = Get-LocalFqdn
$ServerAuthOid = '1.3.6.1.5.5.7.3.1'
$EkuExtensionOid = '2.5.29.37'
$StorePath = 'Cert:\LocalMachine\My'
$DefaultHttpsPort = 5986
$ParamNames = @('Fqdn', 'MinDaysLeft', 'Issuers', 'AllowSelfSigned', 'Thumbprint')
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

function Get-BooleanParam {
    # A JSON true or false; InvalidInput otherwise ([bool]'false' is $true).
    param($Object, [string]$Name)
    $value = Get-RequestMember -Object $Object -Name $Name
    if ($value -isnot [bool]) { throw (New-InvalidInput -Message "$Name must be true or false") }
    return $value
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
    param($Certificate)
    $problems = @()
    $now = [DateTime]::UtcNow
    $names = Get-DnsNames -Certificate $Certificate
    $cn = [string]$Certificate.GetNameInfo('SimpleName', $false)
    # -contains and -eq compare case-insensitively and literally (no regex, no wildcard).
    if (-not ($names -contains $Fqdn -or $cn -eq $Fqdn)) { $problems += 'name-mismatch' }
    if (-not $Certificate.HasPrivateKey) { $problems += 'no-private-key' }
    if (-not (Test-ServerAuth -Certificate $Certificate)) { $problems += 'no-server-auth' }
    if ($Certificate.NotBefore.ToUniversalTime() -gt $now) { $problems += 'not-yet-valid' }
    if ($Certificate.NotAfter.ToUniversalTime() -le $now) { $problems += 'expired' }
    elseif ($Certificate.NotAfter.ToUniversalTime() -le $now.AddDays($MinDaysLeft)) { $problems += 'too-few-days-left' }
    if (Test-SelfSigned -Certificate $Certificate) {
        if (-not $AllowSelfSigned) { $problems += 'self-signed-not-allowed' }
    } elseif (@($Issuers).Count -gt 0) {
        $allowed = @($Issuers | ForEach-Object { ConvertTo-NormalDn -Dn $_ })
        if ($allowed -notcontains (ConvertTo-NormalDn -Dn $Certificate.Issuer)) { $problems += 'issuer-not-allowed' }
    }
    return , [string[]]$problems
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
        $reports.Add([ordered]@{
                thumbprint = [string]$certificate.Thumbprint
                subject    = [string]$certificate.Subject
                issuer     = [string]$certificate.Issuer
                notAfter   = ConvertTo-IsoDate -Date $certificate.NotAfter
                selfSigned = Test-SelfSigned -Certificate $certificate
                problems   = Get-CertificateProblems -Certificate $certificate
            })
    }
    return , $reports.ToArray()
}

function Select-Certificate {
    # The certificate to bind: the pinned one, else the bound one while it qualifies, else the rule's winner;
    # $null when apply must create a self-signed one; otherwise throws the most specific reason.
    param($Store, $Bound)
    if ($Thumbprint) {
        $pinned = @($Store | Where-Object { $_.Thumbprint -eq $Thumbprint })
        if ($pinned.Count -eq 0) { throw (New-StepError -Code 'NoSuitableCertificate' -Class 'permanent' -Message "The certificate $Thumbprint is not in $StorePath.") }
        $problems = Get-CertificateProblems -Certificate $pinned[0]
        if ($problems.Count -eq 0) { return $pinned[0] }
        if ($problems -contains 'name-mismatch') { throw (New-StepError -Code 'CertNameMismatch' -Class 'permanent' -Message "The certificate CN and the hostname that were provided do not match: $Thumbprint does not name $Fqdn.") }
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
    if ($AllowSelfSigned) { return $null }
    $named = @($Store | Where-Object { (Get-CertificateProblems -Certificate $_) -notcontains 'name-mismatch' })
    if ($named.Count -eq 0) { throw (New-StepError -Code 'NoSuitableCertificate' -Class 'permanent' -Message "No certificate in $StorePath names $Fqdn and self-signed is not allowed.") }
    $withKey = @($named | Where-Object { $_.HasPrivateKey })
    if ($withKey.Count -eq 0) { throw (New-StepError -Code 'CertNoPrivateKey' -Class 'permanent' -Message "The certificate for $Fqdn in $StorePath has no private key.") }
    $timely = @($withKey | Where-Object { Test-Timely -Problems (Get-CertificateProblems -Certificate $_) })
    if ($timely.Count -eq 0) { throw (New-StepError -Code 'CertExpired' -Class 'permanent' -Message "Every certificate for $Fqdn has expired or has $MinDaysLeft days or fewer left.") }
    throw (New-StepError -Code 'NoSuitableCertificate' -Class 'permanent' -Message "No certificate for $Fqdn meets the rules; see evidence.candidates.")
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
    $RollbackTo = $null
    if ($RequestBase64) {
        $request = Read-MonosyncRequest -Encoded $RequestBase64
        # Assigning re-runs the parameters' Validate* attributes: a bad value throws InvalidInput here.
        $Mode = Get-RequestString -Object $request -Name 'mode'
        $params = Get-RequestMember -Object $request -Name 'params'
        if ($params -isnot [System.Management.Automation.PSCustomObject]) { throw (New-InvalidInput -Message 'params must be a JSON object') }
        foreach ($property in $params.PSObject.Properties) {
            if ($null -eq (Find-OrdinalMatch -Set $ParamNames -Value $property.Name)) { throw (New-InvalidInput -Message "params has an unknown member $($property.Name)") }
        }
        $Fqdn = Get-RequestString -Object $params -Name 'Fqdn'
        $MinDaysLeft = Get-IntegerParam -Object $params -Name 'MinDaysLeft' -Minimum 1 -Maximum 365
        if ($null -eq (Get-RequestMember -Object $params -Name 'Issuers')) { throw (New-InvalidInput -Message 'Issuers must be an array of strings') }
        $Issuers = Get-RequestStringList -Object $params -Name 'Issuers'
        $AllowSelfSigned = Get-BooleanParam -Object $params -Name 'AllowSelfSigned'
        if (Test-RequestParam -Request $request -Name 'Thumbprint') {
            $pinned = Get-RequestString -Object $params -Name 'Thumbprint'
            if ($null -eq $pinned) { throw (New-InvalidInput -Message 'Thumbprint must be a string') }
            $Thumbprint = $pinned
        }
        $RollbackTo = Get-RequestMember -Object $request -Name 'rollbackTo'
    } elseif ($RollbackToJson) {
        $RollbackTo = ConvertFrom-RollbackJson -Json $RollbackToJson
    }
    # Refused: reported as plan (the envelope carries only a valid mode).
    try { $Mode = Resolve-StepMode -Mode $Mode } catch { $Mode = 'plan'; throw }
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

    $listener = Get-HttpsListener
    $before = Get-ListenerState -Listener $listener
    $store = @(Get-StoreCertificates)
    $bound = $null
    if ($null -ne $listener -and $listener.Thumbprint) { $bound = $store | Where-Object { $_.Thumbprint -eq $listener.Thumbprint } | Select-Object -First 1 }
    $candidates = Get-CandidateReport -Store $store
    $chosen = Select-Certificate -Store $store -Bound $bound
    $script:Evidence['selectedThumbprint'] = ''
    $script:Evidence['selfSigned'] = $true
    $script:Evidence['newSelfSigned'] = ($null -eq $chosen)
    if ($null -ne $chosen) {
        $script:Evidence['selectedThumbprint'] = [string]$chosen.Thumbprint
        $script:Evidence['selfSigned'] = Test-SelfSigned -Certificate $chosen
    }
    $script:Evidence['candidates'] = $candidates

    $listenerOk = ($null -ne $listener -and $null -ne $chosen -and $listener.Thumbprint -eq [string]$chosen.Thumbprint -and $listener.Hostname -eq $Fqdn)
    if ($listenerOk) {
        Write-StepResult -StepMode $Mode -Compliant $true -Changed $false -Before $before -After $before
        return
    }
    Assert-NotPolicyListener -Listener $listener
    $port = $DefaultHttpsPort
    if ($null -ne $listener) { $port = $listener.Port }

    if ($Mode -eq 'plan') {
        $predictedListener = [ordered]@{ port = $port; hostname = $Fqdn; thumbprint = '' }
        $predictedCertificate = $null
        if ($null -ne $chosen) {
            $predictedListener['thumbprint'] = [string]$chosen.Thumbprint
            $predictedCertificate = ConvertTo-CertificateInfo -Certificate $chosen
        } else {
            $script:Warnings.Add("apply creates a self-signed certificate for $Fqdn (1 year; clients must trust it)")
        }
        Write-StepResult -StepMode $Mode -Compliant $false -Changed $true -Before $before -After ([ordered]@{ listener = $predictedListener; certificate = $predictedCertificate })
        return
    }

    if ($null -eq $chosen) {
        try {
            $chosen = New-WinSelfSignedCertificate -DnsName @($Fqdn) -CertStoreLocation $StorePath
        } catch {
            # The PKI module reports a refused key or store as a plain System.Exception with CertEnroll's text
            # ('CertEnroll::CX509Enrollment::_CreateRequest: Access denied. 0x80090010 (-2146893808 NTE_PERM)').
            $text = [string]$_.Exception.Message
            if ($text -match '\b0x80090010\b|\b0x80070005\b|E_ACCESSDENIED|NTE_PERM') { throw (New-StepError -Code '5' -Class 'auth' -Message $text) }
            throw
        }
        $script:Evidence['selectedThumbprint'] = [string]$chosen.Thumbprint
    }
    Set-ListenerBinding -Listener $listener -Port $port -Hostname $Fqdn -CertificateThumbprint ([string]$chosen.Thumbprint)
    Write-StepResult -StepMode $Mode -Compliant $false -Changed $true -Before $before -After (Get-ListenerState -Listener (Get-HttpsListener))
} catch {
    Write-StepFailure -Record $_ -StepMode $Mode
}
