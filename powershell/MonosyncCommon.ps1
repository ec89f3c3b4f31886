#region monosync-common
# The helpers every step script shares, kept once. standaloneScript() (powershell/script-text.ts) puts this
# file in place of the '#monosync-common' marker line that follows each step script's param() block, so a
# step runs as one self-contained text: the runner sends it as one script block (nothing is dot-sourced on
# the server), and 'fleet script <step>' writes the same text to run by hand.
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
