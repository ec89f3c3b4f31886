<#
.SYNOPSIS
    Acceptance test, run on the Monosync worker AS Monosync's service account: WinRM over HTTPS with
    Kerberos, the certificate the server really serves, a session on the server as that account (what
    Remote Management Users grants), and optionally the Kerberos second hop.
.DESCRIPTION
    Reports facts; changes nothing. Test-WSMan -UseSSL validates the certificate (chain and name) as
    every client will. The served thumbprint is read from a TLS handshake that accepts any
    certificate on purpose: it records what is bound, valid or not. The session probe opens a session
    on the Microsoft.PowerShell endpoint as the service account: only that proves its membership of
    Remote Management Users (the worker itself is usually an administrator, admitted anyway). The
    second-hop probe reads \\<Domain>\SYSVOL from inside such a session: a share on a domain
    controller, another machine, which the server reaches with the account's identity only through a
    forwarded (delegated) Kerberos ticket - the hop Monosync's own sessions make from the server to
    Exchange and AD. Kerberos tickets are purged first (a ticket cached before the computer was trusted
    for delegation does not carry ok-as-delegate), and a failed hop is retried with backoff (AD
    replication of the delegation flag, ticket lifetime). 'changed' true means a check failed (nothing to
    change here); a failed probe is a finding (ok, with its error code in the evidence), not a failure.
.PARAMETER Mode
    plan or apply (the same read-only test). rollback is refused: there is nothing to roll back.
.PARAMETER Fqdn
    The Exchange server's DNS name (Kerberos needs the name, not an IP address).
.PARAMETER ServiceAccount
    Monosync's service account, the identity every probe acts as.
.PARAMETER Domain
    The AD domain's DNS name, whose SYSVOL the second-hop probe reads ($env:USERDNSDOMAIN is empty in
    the network logon of a WinRM session, so it is passed in).
.PARAMETER ServiceCredential
    The service account's credential, from the worker's own environment (never in the request). Without
    it the probes run as this process's identity, which proves the account's access only when it IS
    that account; otherwise the envelope says that membership was not proven.
.PARAMETER CheckSecondHop
    Also probe the Kerberos second hop.
.PARAMETER RequestBase64
    Base64 of UTF-8 JSON {mode, params, rollbackTo}; how the Monosync worker passes values.
.EXAMPLE
    .\Test-MonosyncConnectivity.ps1 -Fqdn exch01.corp.example -ServiceAccount 'CORP\monosync_svc' -Domain corp.example -CheckSecondHop $true -ServiceCredential (Get-Credential 'CORP\monosync_svc')
#>
[CmdletBinding()]
param(
    [Parameter(Position = 0)]
    [string]$RequestBase64,
    [ValidateSet('plan', 'apply', 'rollback')]
    [string]$Mode = 'plan',
    # \z, not $: '$' also matches before a trailing newline, which would let 'name' + LF through. The last label
    # is not all digits: an IP address is no DNS name, and Kerberos needs the name (domain/validators.ts fqdnSchema).
    [ValidatePattern('^(?=.{1,253}\z)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+(?![0-9]+\z)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\z')]
    [string]$Fqdn,
    [ValidatePattern('^(?:[A-Za-z0-9][A-Za-z0-9-]{0,14}\\[A-Za-z0-9][A-Za-z0-9._-]{0,19}|[A-Za-z0-9][A-Za-z0-9._-]{0,19}@[A-Za-z0-9.-]{1,253})\z')]
    [string]$ServiceAccount,
    [ValidatePattern('^(?=.{1,253}\z)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+(?![0-9]+\z)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\z')]
    [string]$Domain,
    [bool]$CheckSecondHop = $true,
    [System.Management.Automation.PSCredential]$ServiceCredential
)

#monosync-common: the helpers of powershell/MonosyncCommon.ps1 go here (fleet script <step> writes the whole script)

$script:ScriptName = 'Test-MonosyncConnectivity'
$script:Target = Get-LocalFqdn
$HttpsPort = 5986
$RequestParams = @('Fqdn', 'ServiceAccount', 'Domain', 'CheckSecondHop')
# Waits before each new second-hop attempt, in seconds: 35 s in all, inside the runner's per-call timeout.
$SecondHopBackoff = @(5, 10, 20)

function Test-SameAccount {
    # The token names the account 'DOMAIN\user'; ServiceAccount may also be 'user@dns.domain'. Without a
    # directory lookup a UPN is compared by its user and the first label of its domain (usually the NetBIOS
    # name), ignoring case as Windows does. Only a warning depends on this.
    param([string]$Identity, [string]$Account)
    $at = $Account.IndexOf('@')
    if ($at -gt 0) { $Account = $Account.Substring($at + 1).Split('.')[0] + '\' + $Account.Substring(0, $at) }
    return [string]::Equals($Identity, $Account, [System.StringComparison]::OrdinalIgnoreCase)
}

function Get-ProbeError {
    # A failed probe's code as Get-StepErrorInfo classifies it, except: a socket error by its SocketError number
    # (10061 refused, 10060 no answer, 10054 reset; the same on every platform, where NativeErrorCode is errno
    # outside Windows), and a TLS handshake the server broke off as TlsHandshakeFailed (IOException or
    # AuthenticationException).
    param([System.Management.Automation.ErrorRecord]$Record)
    $info = Get-StepErrorInfo -Record $Record
    for ($inner = $Record.Exception; $null -ne $inner; $inner = $inner.InnerException) {
        if ($inner -is [System.Net.Sockets.SocketException]) {
            $info.code = [string][int]$inner.SocketErrorCode
            $info.class = Get-StepErrorClass -Code $info.code
            $info.message = [string]$inner.Message
            return $info
        }
    }
    for ($inner = $Record.Exception; $null -ne $inner; $inner = $inner.InnerException) {
        if ($inner -is [System.Security.Authentication.AuthenticationException] -or $inner -is [System.IO.IOException]) {
            $info.code = 'TlsHandshakeFailed'
            $info.class = 'permanent'
            $info.message = [string]$inner.Message
            return $info
        }
    }
    return $info
}

function Format-IsoDate {
    # As JavaScript's toISOString() writes it (UTC, milliseconds, 'Z'), whatever the culture.
    param([datetime]$Date)
    return $Date.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", [System.Globalization.CultureInfo]::InvariantCulture)
}

try {
    $step = Read-StepRequest -Encoded $RequestBase64 -Mode $Mode
    $Mode = $step.Mode
    $params = Get-MonosyncRequestParams -Step $step -Names $RequestParams
    if ($null -ne $params) {
        # Assigning re-runs the parameters' ValidatePattern: a bad value throws InvalidInput here.
        $Fqdn = Get-RequestString -Object $params -Name 'Fqdn' -Required
        $ServiceAccount = Get-RequestString -Object $params -Name 'ServiceAccount' -Required
        $Domain = Get-RequestString -Object $params -Name 'Domain' -Required
        $CheckSecondHop = Get-RequestBoolean -Object $params -Name 'CheckSecondHop'
    }
    if ($Mode -eq 'rollback') { throw (New-InvalidInput -Message 'Test-MonosyncConnectivity only reads: there is nothing to roll back') }
    if (-not $Fqdn) { throw (New-InvalidInput -Message 'Fqdn is required') }
    if (-not $Domain) { throw (New-InvalidInput -Message 'Domain is required') }
    $script:Target = $Fqdn

    # Who the probes act as: the service account through its credential, or this process when it is that account.
    $identity = [string](Get-WinCurrentIdentityName)
    $script:Evidence['identity'] = $identity
    $credential = $null
    $accountProof = $null
    if ($null -ne $ServiceCredential -and (Test-SameAccount -Identity $ServiceCredential.UserName -Account $ServiceAccount)) {
        $credential = $ServiceCredential
        $accountProof = 'credential'
    } elseif (Test-SameAccount -Identity $identity -Account $ServiceAccount) {
        $accountProof = 'identity'
    } elseif ($null -ne $ServiceCredential) {
        $script:Warnings.Add("the worker's credential is for $($ServiceCredential.UserName), not ${ServiceAccount}: membership of $ServiceAccount in Remote Management Users was not proven")
    } else {
        $script:Warnings.Add("membership of $ServiceAccount in Remote Management Users was not proven: this worker runs as $identity and has no credential for $ServiceAccount (set FLEET_SERVICE_ACCOUNT_USER and FLEET_SERVICE_ACCOUNT_PASSWORD_FILE on the worker, or run the worker as that account)")
    }
    $script:Evidence['accountProof'] = $accountProof
    # How each probe connects: with the account's credential, or as this process (the seam splats it).
    $connectAs = @{}
    if ($null -ne $credential) { $connectAs['Credential'] = $credential }

    $served = $null
    $servedNotAfter = $null
    $tlsError = $null
    try {
        $stream = Open-WinTlsStream -HostName $Fqdn -Port $HttpsPort
        try {
            Invoke-WinTlsHandshake -Stream $stream -HostName $Fqdn
            $certificate = Get-WinTlsRemoteCertificate -Stream $stream
        } finally {
            $stream.Dispose()
        }
        $served = ([string]$certificate.Thumbprint).ToUpperInvariant()
        $servedNotAfter = Format-IsoDate -Date $certificate.NotAfter
    } catch {
        $problem = Get-ProbeError -Record $_
        $tlsError = $problem.code
        $script:Warnings.Add("TLS handshake with ${Fqdn}:${HttpsPort}: $($problem.message)")
    }

    $wsmanHttps = $false
    $wsmanError = $null
    try {
        $null = Test-WinWsmanHttps -ComputerName $Fqdn -ConnectAs $connectAs
        $wsmanHttps = $true
    } catch {
        $problem = Get-StepErrorInfo -Record $_
        $wsmanError = $problem.code
        $script:Warnings.Add("Test-WSMan over HTTPS with Kerberos: $($problem.message)")
    }

    # A session on the Microsoft.PowerShell endpoint as the service account: the endpoint admits Remote
    # Management Users (and administrators), so only a session that account opens proves its access.
    $session = $null
    $sessionError = $null
    if ($wsmanHttps -and $null -ne $accountProof) {
        try {
            $answer = @(Test-WinRemoteSession -ComputerName $Fqdn -ConnectAs $connectAs)
            $session = ($answer.Count -eq 1 -and $answer[0] -is [bool] -and $answer[0])
        } catch {
            $problem = Get-StepErrorInfo -Record $_
            $session = $false
            $sessionError = $problem.code
            $script:Warnings.Add("a session on $Fqdn as ${ServiceAccount}: $($problem.message)")
        }
    }

    $secondHop = $false
    $secondHopError = $null
    $secondHopAttempts = 0
    if ($CheckSecondHop -and $session) {
        $script:Evidence['secondHopProbe'] = "Test-Path \\$Domain\SYSVOL in a session on $Fqdn as $ServiceAccount"
        while ($true) {
            # Purged before each attempt, so a ticket issued before the delegation flag replicated is not reused.
            # Only this process's own tickets: a credential given explicitly gets fresh ones for every session.
            if ($accountProof -eq 'identity') { $null = Clear-WinKerberosTicket }
            $secondHopAttempts += 1
            try {
                # One answer, the boolean Test-Path gave there; anything else (a profile's output) is no proof.
                $answer = @(Test-WinRemoteSysvol -ComputerName $Fqdn -Domain $Domain -ConnectAs $connectAs)
                $secondHop = ($answer.Count -eq 1 -and $answer[0] -is [bool] -and $answer[0])
            } catch {
                $problem = Get-StepErrorInfo -Record $_
                $secondHopError = $problem.code
                $script:Warnings.Add("second-hop session on ${Fqdn}: $($problem.message)")
                break
            }
            if ($secondHop -or $secondHopAttempts -gt $SecondHopBackoff.Count) { break }
            Wait-WinSeconds -Seconds $SecondHopBackoff[$secondHopAttempts - 1]
        }
        if (-not $secondHop -and $null -eq $secondHopError) { $script:Warnings.Add("the session on $Fqdn could not reach \\$Domain\SYSVOL as $ServiceAccount after $secondHopAttempts attempts: the server may not delegate it") }
    }
    $script:Evidence['sessionError'] = $sessionError
    $script:Evidence['secondHopAttempts'] = $secondHopAttempts
    $script:Evidence['checkedSecondHop'] = $CheckSecondHop
    $script:Evidence['servedNotAfter'] = $servedNotAfter
    $script:Evidence['tlsError'] = $tlsError
    $script:Evidence['wsmanError'] = $wsmanError
    $script:Evidence['secondHopError'] = $secondHopError

    $state = [ordered]@{ wsmanHttps = $wsmanHttps; kerberosSecondHop = $secondHop; servedThumbprint = $served; sessionAsServiceAccount = $session }
    $passed = $wsmanHttps -and $session -eq $true -and ($secondHop -or -not $CheckSecondHop)
    Write-StepResult -StepMode $Mode -Compliant $passed -Changed (-not $passed) -Before $state -After $state
} catch {
    Write-StepFailure -Record $_ -StepMode $Mode
}
