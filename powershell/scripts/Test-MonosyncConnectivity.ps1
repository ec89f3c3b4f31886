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

#region monosync-common
# Inlined in every script on purpose: Invoke-Command -FilePath ships this one file to the server, so
# nothing can be dot-sourced there. Keep the copies identical (test/powershell-scripts.test.ts checks).
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$WarningPreference = 'SilentlyContinue'
# Windows PowerShell 5.1 would otherwise serialize arrays as {"value":[...],"Count":n}.
Remove-TypeData -TypeName System.Array -ErrorAction SilentlyContinue
$script:Warnings = New-Object -TypeName 'System.Collections.Generic.List[string]'
$script:Evidence = [ordered]@{}

function Get-LocalFqdn {
    try {
        return ([System.Net.Dns]::GetHostEntry([string]$env:COMPUTERNAME).HostName).ToLowerInvariant()
    } catch {
        return ([string]$env:COMPUTERNAME).ToLowerInvariant()
    }
}

function Read-MonosyncRequest {
    param([Parameter(Mandatory = $true)][string]$Encoded)
    # Values arrive as data, never as command text: base64 of UTF-8 JSON {mode, params, rollbackTo}.
    $json = [System.Text.Encoding]::UTF8.GetString([System.Convert]::FromBase64String($Encoded))
    return (ConvertFrom-Json -InputObject $json)
}

function Test-RequestParam {
    param($Request, [string]$Name)
    return ($null -ne $Request.params -and @($Request.params.PSObject.Properties.Name) -contains $Name)
}

function New-StepError {
    param([string]$Code, [string]$Class, [string]$Message)
    $exception = New-Object -TypeName System.InvalidOperationException -ArgumentList $Message
    $exception.Data['MonosyncCode'] = $Code
    $exception.Data['MonosyncClass'] = $Class
    return $exception
}

function Get-StepErrorInfo {
    param([System.Management.Automation.ErrorRecord]$Record)
    $exception = $Record.Exception
    while ($exception -is [System.Management.Automation.MethodInvocationException] -and $null -ne $exception.InnerException) {
        $exception = $exception.InnerException
    }
    $type = $exception.GetType().FullName
    $fqid = [string]$Record.FullyQualifiedErrorId
    $message = [string]$exception.Message
    $winrmCode = [regex]::Match($message, '0x8033[0-9A-Fa-f]{4}')
    $adErrorCode = 0
    if ($null -ne $exception.PSObject.Properties['ErrorCode']) { $adErrorCode = [int]$exception.ErrorCode }
    # Stable identifiers first (codes, exception types, error ids); en-US message text last.
    if ($exception.Data.Contains('MonosyncCode')) {
        $code = [string]$exception.Data['MonosyncCode']; $class = [string]$exception.Data['MonosyncClass']
    } elseif ($exception -is [System.Management.Automation.ValidationMetadataException] -or
        $exception -is [System.Management.Automation.ParameterBindingException]) {
        $code = 'InvalidInput'; $class = 'permanent'
    } elseif ($type -eq 'Microsoft.ActiveDirectory.Management.ADIdentityNotFoundException') {
        $code = 'ADIdentityNotFound'; $class = 'permanent'
    } elseif ($type -eq 'Microsoft.ActiveDirectory.Management.ADServerDownException') {
        $code = 'ADServerDown'; $class = 'transient'
    } elseif ($adErrorCode -eq 8344 -or $message -like '*Insufficient access rights*') {
        $code = '8344'; $class = 'permanent'
    } elseif ($fqid -like 'Modules_ModuleNotFound*') {
        $code = 'ModuleMissing'; $class = 'precondition'
    } elseif ($exception -is [System.Management.Automation.Remoting.PSRemotingTransportException] -and $exception.ErrorCode -eq 5) {
        $code = '5'; $class = 'auth'
    } elseif ($exception -is [System.Management.Automation.Remoting.PSRemotingTransportException] -and $exception.ErrorCode -ne 0) {
        $code = '0x{0:X8}' -f $exception.ErrorCode; $class = 'transient'
    } elseif ($winrmCode.Success) {
        $code = $winrmCode.Value; $class = 'transient'
    } elseif ($exception -is [System.UnauthorizedAccessException] -or $fqid -like 'AccessDenied*' -or $exception.HResult -eq -2147024891) {
        $code = '5'; $class = 'auth'
    } elseif ($exception -is [System.Security.Principal.IdentityNotMappedException]) {
        $code = 'PrincipalNotFound'; $class = 'permanent'
    } elseif ($exception -is [System.TimeoutException]) {
        $code = 'Timeout'; $class = 'transient'
    } else {
        $code = 'PowerShellError'; $class = 'permanent'
    }
    return [ordered]@{ class = $class; code = $code; message = $message; fqid = $fqid; exceptionType = $type }
}

function Write-StepResult {
    param([string]$StepMode, [bool]$Ok = $true, [bool]$Compliant, [bool]$Changed, $Before, $After, $ErrorInfo = $null)
    $envelope = [ordered]@{
        schema    = 'monosync.onboard.step/v1'
        script    = $script:ScriptName
        target    = $script:Target
        mode      = $StepMode
        ok        = $Ok
        compliant = $Compliant
        changed   = $Changed
        before    = $Before
        after     = $After
        evidence  = $script:Evidence
        warnings  = [string[]]$script:Warnings.ToArray()
    }
    if ($null -ne $ErrorInfo) { $envelope['error'] = $ErrorInfo }
    # One document on one line: the runner reads the last JSON line of the output.
    ConvertTo-Json -InputObject $envelope -Compress -Depth 8
}

function Write-StepFailure {
    param([System.Management.Automation.ErrorRecord]$Record, [string]$StepMode)
    Write-StepResult -StepMode $StepMode -Ok $false -Compliant $false -Changed $false -Before $null -After $null -ErrorInfo (Get-StepErrorInfo -Record $Record)
}
#endregion monosync-common

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
