<#
.SYNOPSIS
    Acceptance test, run on the Monosync worker: WinRM over HTTPS with Kerberos, the certificate the
    server really serves, and optionally the Kerberos second hop.
.DESCRIPTION
    Reports facts; changes nothing. Test-WSMan -UseSSL validates the certificate (chain and name) as
    every client will. The served thumbprint is read from a TLS handshake that accepts any
    certificate on purpose: it records what is bound, valid or not. The second-hop probe opens a
    session to the server that itself reads the domain's SYSVOL share, which succeeds only when the
    server may delegate this identity. 'changed' true means a check failed (nothing to change here).
.PARAMETER Mode
    plan or apply (the same read-only test).
.PARAMETER Fqdn
    The Exchange server's DNS name (Kerberos needs the name, not an IP address).
.PARAMETER ServiceAccount
    The runtime account the test is meant to run as; a warning says when it runs as another identity.
.PARAMETER CheckSecondHop
    Also probe the Kerberos second hop.
.PARAMETER RequestBase64
    Base64 of UTF-8 JSON {mode, params, rollbackTo}; how the Monosync worker passes values.
.EXAMPLE
    .\Test-MonosyncConnectivity.ps1 -Fqdn exch01.corp.example -ServiceAccount 'CORP\monosync_svc' -CheckSecondHop $true
#>
[CmdletBinding()]
param(
    [Parameter(Position = 0)]
    [string]$RequestBase64,
    [ValidateSet('plan', 'apply', 'rollback')]
    [string]$Mode = 'plan',
    [ValidatePattern('^(?=.{1,253}$)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$')]
    [string]$Fqdn,
    [ValidatePattern('^(?:[A-Za-z0-9][A-Za-z0-9-]{0,14}\\[A-Za-z0-9][A-Za-z0-9._-]{0,19}|[A-Za-z0-9][A-Za-z0-9._-]{0,19}@[A-Za-z0-9.-]{1,253})$')]
    [string]$ServiceAccount,
    [bool]$CheckSecondHop = $true
)

#monosync-common: the helpers of powershell/MonosyncCommon.ps1 go here (fleet script <step> writes the whole script)

$script:ScriptName = 'Test-MonosyncConnectivity'
$script:Target = Get-LocalFqdn

function Get-ServedThumbprint {
    param([string]$HostName, [int]$Port)
    $client = New-Object -TypeName System.Net.Sockets.TcpClient
    try {
        $connect = $client.BeginConnect($HostName, $Port, $null, $null)
        if (-not $connect.AsyncWaitHandle.WaitOne(10000)) { throw (New-StepError -Code 'FirewallBlocked' -Class 'transient' -Message "no TCP answer from ${HostName}:$Port within 10 s") }
        $client.EndConnect($connect)
        $acceptAny = [System.Net.Security.RemoteCertificateValidationCallback] { param($s, $c, $ch, $e) return $true }
        $stream = $client.GetStream()
        $tls = New-Object -TypeName System.Net.Security.SslStream -ArgumentList $stream, $false, $acceptAny
        try {
            $tls.AuthenticateAsClient($HostName)
            return (New-Object -TypeName System.Security.Cryptography.X509Certificates.X509Certificate2 -ArgumentList $tls.RemoteCertificate).Thumbprint
        } finally {
            $tls.Dispose()
        }
    } finally {
        $client.Close()
    }
}

try {
    if ($RequestBase64) {
        $request = Read-MonosyncRequest -Encoded $RequestBase64
        $Mode = [string]$request.mode
        $Fqdn = [string]$request.params.Fqdn
        $ServiceAccount = [string]$request.params.ServiceAccount
        $CheckSecondHop = [bool]$request.params.CheckSecondHop
    }
    if (-not $Fqdn) { throw (New-StepError -Code 'InvalidInput' -Class 'permanent' -Message 'Fqdn is required') }
    $script:Target = $Fqdn

    $identity = [System.Security.Principal.WindowsIdentity]::GetCurrent().Name
    $script:Evidence['identity'] = $identity
    if ($ServiceAccount -and $identity -ne $ServiceAccount) { $script:Warnings.Add("running as $identity, not $ServiceAccount") }

    $served = $null
    try {
        $served = Get-ServedThumbprint -HostName $Fqdn -Port 5986
    } catch {
        $script:Evidence['tlsError'] = Get-StepErrorInfo -Record $_
    }

    $wsmanHttps = $false
    try {
        Test-WSMan -ComputerName $Fqdn -UseSSL -Authentication Kerberos | Out-Null
        $wsmanHttps = $true
    } catch {
        $script:Evidence['wsmanError'] = Get-StepErrorInfo -Record $_
    }

    $secondHop = $false
    if ($CheckSecondHop -and $wsmanHttps) {
        try {
            $secondHop = [bool](Invoke-Command -ComputerName $Fqdn -UseSSL -Authentication Kerberos -ScriptBlock {
                    # Runs on the Exchange server: reaching SYSVOL with this identity needs a delegated ticket.
                    Test-Path -LiteralPath ('\\' + $env:USERDNSDOMAIN + '\SYSVOL')
                })
        } catch {
            $script:Evidence['secondHopError'] = Get-StepErrorInfo -Record $_
        }
    }

    $state = [ordered]@{ wsmanHttps = $wsmanHttps; kerberosSecondHop = $secondHop; servedThumbprint = $served }
    $passed = $wsmanHttps -and ($secondHop -or -not $CheckSecondHop)
    Write-StepResult -StepMode $Mode -Compliant $passed -Changed (-not $passed) -Before $state -After $state
} catch {
    Write-StepFailure -Record $_ -StepMode $Mode
}
