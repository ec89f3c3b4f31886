<#
.SYNOPSIS
    Ensures one WinRM HTTPS listener bound to a certificate that meets the selection rule (step 3.3).
.DESCRIPTION
    The listener is found by Transport=HTTPS under WSMan:\localhost\Listener (never by a Listener_<n>
    name). A certificate qualifies when it is in Cert:\LocalMachine\My, names the FQDN (SAN DNS name or
    subject CN), has the Server Authentication EKU (OID 1.3.6.1.5.5.7.3.1), has its private key, is
    valid now with more than MinDaysLeft days left and, unless self-signed and allowed, was issued by
    one of Issuers (any issuer when the list is empty). CA-issued beats self-signed; then the latest
    NotAfter wins. A self-signed certificate is created only with AllowSelfSigned. An existing listener
    is updated in place (no window without a listener); rollback restores the old thumbprint and host
    name or removes a listener this step created. Certificates are never deleted.
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
    For rollback by hand: the earlier 'before' state as JSON.
.EXAMPLE
    .\Set-HttpsListener.ps1 -Mode plan -Fqdn exch01.corp.example -MinDaysLeft 30 -Issuers @() -AllowSelfSigned $false
#>
[CmdletBinding()]
param(
    [Parameter(Position = 0)]
    [string]$RequestBase64,
    [ValidateSet('plan', 'apply', 'rollback')]
    [string]$Mode = 'plan',
    [ValidatePattern('^(?=.{1,253}$)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$')]
    [string]$Fqdn,
    [ValidateRange(1, 365)]
    [int]$MinDaysLeft = 30,
    [AllowEmptyCollection()]
    [ValidatePattern('^[^\x00-\x1F\x7F''"`$;|&]+$')]
    [string[]]$Issuers = @(),
    [bool]$AllowSelfSigned = $false,
    [ValidatePattern('^[0-9A-Fa-f]{40}$')]
    [string]$Thumbprint,
    [string]$RollbackToJson
)

#monosync-common: the helpers of powershell/MonosyncCommon.ps1 go here (fleet script <step> writes the whole script)

$script:ScriptName = 'Set-HttpsListener'
$script:Target = Get-LocalFqdn
$ServerAuthOid = '1.3.6.1.5.5.7.3.1'
$ListenerRoot = 'WSMan:\localhost\Listener'

function Get-HttpsListener {
    $found = @()
    foreach ($container in @(Get-ChildItem -Path $ListenerRoot)) {
        if (@($container.Keys) -notcontains 'Transport=HTTPS') { continue }
        $path = Join-Path -Path $ListenerRoot -ChildPath $container.Name
        $settings = @{}
        foreach ($item in @(Get-ChildItem -Path $path)) { $settings[[string]$item.Name] = [string]$item.Value }
        $found += [pscustomobject]@{
            Path       = $path
            Address    = (@($container.Keys) -contains 'Address=*')
            Port       = [int]$settings['Port']
            Hostname   = [string]$settings['Hostname']
            Thumbprint = ([string]$settings['CertificateThumbprint']).Replace(' ', '').ToUpperInvariant()
        }
    }
    if ($found.Count -gt 1) { $script:Warnings.Add(('{0} HTTPS listeners exist; the Address=* one is managed' -f $found.Count)) }
    $managed = @($found | Sort-Object -Property Address -Descending)
    if ($managed.Count -eq 0) { return $null }
    return $managed[0]
}

function Test-ServerAuth {
    param($Certificate)
    foreach ($extension in $Certificate.Extensions) {
        if ($extension -is [System.Security.Cryptography.X509Certificates.X509EnhancedKeyUsageExtension]) {
            foreach ($usage in $extension.EnhancedKeyUsages) { if ($usage.Value -eq $ServerAuthOid) { return $true } }
        }
    }
    return $false
}

function Get-DnsNames {
    param($Certificate)
    return [string[]]@($Certificate.DnsNameList | ForEach-Object { [string]$_.Unicode })
}

function ConvertTo-CertificateInfo {
    param($Certificate)
    if ($null -eq $Certificate) { return $null }
    return [ordered]@{
        thumbprint    = [string]$Certificate.Thumbprint
        subject       = [string]$Certificate.Subject
        issuer        = [string]$Certificate.Issuer
        dnsNames      = Get-DnsNames -Certificate $Certificate
        notBefore     = $Certificate.NotBefore.ToUniversalTime().ToString('o')
        notAfter      = $Certificate.NotAfter.ToUniversalTime().ToString('o')
        hasPrivateKey = [bool]$Certificate.HasPrivateKey
        serverAuth    = Test-ServerAuth -Certificate $Certificate
        selfSigned    = ($Certificate.Subject -eq $Certificate.Issuer)
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
    $names = @(Get-DnsNames -Certificate $Certificate)
    $cn = $Certificate.GetNameInfo([System.Security.Cryptography.X509Certificates.X509NameType]::SimpleName, $false)
    # -contains and -eq compare case-insensitively and literally (no regex, no wildcard).
    if (-not ($names -contains $Fqdn -or $cn -eq $Fqdn)) { $problems += 'name-mismatch' }
    if (-not $Certificate.HasPrivateKey) { $problems += 'no-private-key' }
    if (-not (Test-ServerAuth -Certificate $Certificate)) { $problems += 'no-server-auth' }
    if ($Certificate.NotBefore.ToUniversalTime() -gt $now) { $problems += 'not-yet-valid' }
    if ($Certificate.NotAfter.ToUniversalTime() -le $now) { $problems += 'expired' }
    elseif ($Certificate.NotAfter.ToUniversalTime() -le $now.AddDays($MinDaysLeft)) { $problems += 'too-few-days-left' }
    $selfSigned = ($Certificate.Subject -eq $Certificate.Issuer)
    if ($selfSigned) {
        if (-not $AllowSelfSigned) { $problems += 'self-signed-not-allowed' }
    } elseif (@($Issuers).Count -gt 0) {
        $allowed = @($Issuers | ForEach-Object { ConvertTo-NormalDn -Dn $_ })
        if ($allowed -notcontains (ConvertTo-NormalDn -Dn $Certificate.Issuer)) { $problems += 'issuer-not-allowed' }
    }
    return , $problems
}

function Get-StoreCertificates {
    return @(Get-ChildItem -Path 'Cert:\LocalMachine\My')
}

function Get-CertificateOrFail {
    # Picks the certificate to bind, or throws the most specific reason none qualifies.
    $store = Get-StoreCertificates
    if ($Thumbprint) {
        $pinned = @($store | Where-Object { $_.Thumbprint -eq $Thumbprint })
        if ($pinned.Count -eq 0) { throw (New-StepError -Code 'NoSuitableCertificate' -Class 'permanent' -Message "The certificate $Thumbprint is not in Cert:\LocalMachine\My.") }
        $problems = Get-CertificateProblems -Certificate $pinned[0]
        if ($problems.Count -eq 0) { return $pinned[0] }
        if ($problems -contains 'name-mismatch') { throw (New-StepError -Code 'CertNameMismatch' -Class 'permanent' -Message "The certificate CN and the hostname that were provided do not match: $Thumbprint does not name $Fqdn.") }
        if ($problems -contains 'no-private-key') { throw (New-StepError -Code 'CertNoPrivateKey' -Class 'permanent' -Message "The certificate $Thumbprint has no private key.") }
        if ($problems -contains 'expired' -or $problems -contains 'too-few-days-left' -or $problems -contains 'not-yet-valid') {
            throw (New-StepError -Code 'CertExpired' -Class 'permanent' -Message "The certificate $Thumbprint is not valid for $MinDaysLeft more days.")
        }
        throw (New-StepError -Code 'NoSuitableCertificate' -Class 'permanent' -Message ("The certificate $Thumbprint is not suitable: " + ($problems -join ', ')))
    }
    # CA-issued before self-signed, then latest NotAfter, latest NotBefore, lowest thumbprint: one winner on every run.
    $order = @(
        @{ Expression = { $_.Subject -eq $_.Issuer } },
        @{ Expression = { $_.NotAfter }; Descending = $true },
        @{ Expression = { $_.NotBefore }; Descending = $true },
        @{ Expression = { $_.Thumbprint } }
    )
    $qualifying = @($store | Where-Object { (Get-CertificateProblems -Certificate $_).Count -eq 0 } | Sort-Object -Property $order)
    $script:Evidence['candidates'] = @($store | ForEach-Object { [ordered]@{ thumbprint = $_.Thumbprint; problems = [string[]](Get-CertificateProblems -Certificate $_) } })
    if ($qualifying.Count -gt 0) { return $qualifying[0] }
    if ($AllowSelfSigned) { return $null }
    $named = @($store | Where-Object { (Get-CertificateProblems -Certificate $_) -notcontains 'name-mismatch' })
    if ($named.Count -eq 0) { throw (New-StepError -Code 'NoSuitableCertificate' -Class 'permanent' -Message "No certificate in Cert:\LocalMachine\My names $Fqdn and self-signed is not allowed.") }
    $withKey = @($named | Where-Object { $_.HasPrivateKey })
    if ($withKey.Count -eq 0) { throw (New-StepError -Code 'CertNoPrivateKey' -Class 'permanent' -Message "The certificate for $Fqdn in Cert:\LocalMachine\My has no private key.") }
    $timely = @($withKey | Where-Object { $p = Get-CertificateProblems -Certificate $_; -not ($p -contains 'expired' -or $p -contains 'too-few-days-left' -or $p -contains 'not-yet-valid') })
    if ($timely.Count -eq 0) { throw (New-StepError -Code 'CertExpired' -Class 'permanent' -Message "Every certificate for $Fqdn has expired or has $MinDaysLeft days or fewer left.") }
    throw (New-StepError -Code 'NoSuitableCertificate' -Class 'permanent' -Message "No certificate for $Fqdn meets the rules; see evidence.candidates.")
}

function Get-ListenerState {
    $listener = Get-HttpsListener
    if ($null -eq $listener) { return [ordered]@{ listener = $null; certificate = $null } }
    $certificate = $null
    if ($listener.Thumbprint) { $certificate = Get-StoreCertificates | Where-Object { $_.Thumbprint -eq $listener.Thumbprint } | Select-Object -First 1 }
    return [ordered]@{
        listener    = [ordered]@{ port = $listener.Port; hostname = $listener.Hostname; thumbprint = $listener.Thumbprint }
        certificate = ConvertTo-CertificateInfo -Certificate $certificate
    }
}

function Set-ListenerBinding {
    param([string]$Hostname, [string]$CertificateThumbprint)
    $listener = Get-HttpsListener
    if ($null -eq $listener) {
        New-Item -Path $ListenerRoot -Transport HTTPS -Address * -CertificateThumbPrint $CertificateThumbprint -HostName $Hostname -Force | Out-Null
        return
    }
    if ($listener.Thumbprint -ne $CertificateThumbprint) { Set-Item -Path (Join-Path -Path $listener.Path -ChildPath 'CertificateThumbprint') -Value $CertificateThumbprint -Force }
    if ($listener.Hostname -ne $Hostname) { Set-Item -Path (Join-Path -Path $listener.Path -ChildPath 'Hostname') -Value $Hostname -Force }
}

try {
    $RollbackTo = $null
    if ($RequestBase64) {
        $request = Read-MonosyncRequest -Encoded $RequestBase64
        $Mode = [string]$request.mode
        $Fqdn = [string]$request.params.Fqdn
        $MinDaysLeft = [int]$request.params.MinDaysLeft
        $Issuers = [string[]]@($request.params.Issuers)
        $AllowSelfSigned = [bool]$request.params.AllowSelfSigned
        if (Test-RequestParam -Request $request -Name 'Thumbprint') { $Thumbprint = [string]$request.params.Thumbprint }
        $RollbackTo = $request.rollbackTo
    } elseif ($RollbackToJson) {
        $RollbackTo = ConvertFrom-Json -InputObject $RollbackToJson
    }
    if (-not $Fqdn) { throw (New-StepError -Code 'InvalidInput' -Class 'permanent' -Message 'Fqdn is required') }
    if ($Thumbprint) { $Thumbprint = $Thumbprint.ToUpperInvariant() }

    $before = Get-ListenerState

    if ($Mode -eq 'rollback') {
        $old = $RollbackTo.listener
        $changed = $false
        if ($null -eq $old) {
            $listener = Get-HttpsListener
            if ($null -ne $listener) { Remove-Item -Path $listener.Path -Recurse -Force; $changed = $true }
        } elseif ($null -eq $before.listener -or $before.listener.thumbprint -ne [string]$old.thumbprint -or $before.listener.hostname -ne [string]$old.hostname) {
            $oldThumbprint = ([string]$old.thumbprint).ToUpperInvariant()
            if (@(Get-StoreCertificates | Where-Object { $_.Thumbprint -eq $oldThumbprint }).Count -eq 0) {
                $script:Warnings.Add("the previous certificate $oldThumbprint is gone; the new binding stays")
            } else {
                Set-ListenerBinding -Hostname ([string]$old.hostname) -CertificateThumbprint $oldThumbprint
                $changed = $true
            }
        }
        Write-StepResult -StepMode $Mode -Compliant (-not $changed) -Changed $changed -Before $before -After (Get-ListenerState)
        return
    }

    $current = $null
    if ($null -ne $before.listener -and $before.listener.thumbprint) {
        $current = Get-StoreCertificates | Where-Object { $_.Thumbprint -eq $before.listener.thumbprint } | Select-Object -First 1
    }
    $currentOk = ($null -ne $current -and (Get-CertificateProblems -Certificate $current).Count -eq 0 -and $before.listener.hostname -eq $Fqdn -and (-not $Thumbprint -or $current.Thumbprint -eq $Thumbprint))
    if ($currentOk) {
        Write-StepResult -StepMode $Mode -Compliant $true -Changed $false -Before $before -After $before
        return
    }

    $chosen = Get-CertificateOrFail
    if ($Mode -eq 'plan') {
        $predictedListener = [ordered]@{ port = 5986; hostname = $Fqdn; thumbprint = '' }
        if ($null -ne $before.listener) { $predictedListener['port'] = $before.listener.port }
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
        $chosen = New-SelfSignedCertificate -DnsName $Fqdn -CertStoreLocation 'Cert:\LocalMachine\My'
        $script:Evidence['selfSignedCreated'] = [string]$chosen.Thumbprint
    }
    Set-ListenerBinding -Hostname $Fqdn -CertificateThumbprint ([string]$chosen.Thumbprint)
    $script:Evidence['thumbprint'] = [string]$chosen.Thumbprint
    Write-StepResult -StepMode $Mode -Compliant $false -Changed $true -Before $before -After (Get-ListenerState)
} catch {
    Write-StepFailure -Record $_ -StepMode $Mode
}
