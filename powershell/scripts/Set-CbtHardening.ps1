<#
.SYNOPSIS
    Sets the WinRM service's channel-binding hardening level (step 3.4).
.DESCRIPTION
    Reads and writes WSMan:\localhost\Service\Auth\CbtHardeningLevel. A Group Policy under
    HKLM:\SOFTWARE\Policies\Microsoft\Windows\WinRM\Service owns the setting when it sets it; a local
    change would be reverted, so apply then fails with PolicyControlled. Note the default, Relaxed,
    already admits clients that send no token; None also disables NTLM-relay protection on HTTPS.
.PARAMETER Mode
    plan, apply or rollback.
.PARAMETER Level
    None, Relaxed or Strict.
.PARAMETER RequestBase64
    Base64 of UTF-8 JSON {mode, params, rollbackTo}; how the Monosync worker passes values.
.PARAMETER RollbackToJson
    For rollback by hand: the earlier 'before' state as JSON.
.EXAMPLE
    .\Set-CbtHardening.ps1 -Mode plan -Level Relaxed
#>
[CmdletBinding()]
param(
    [Parameter(Position = 0)]
    [string]$RequestBase64,
    [ValidateSet('plan', 'apply', 'rollback')]
    [string]$Mode = 'plan',
    [ValidateSet('None', 'Relaxed', 'Strict')]
    [string]$Level,
    [string]$RollbackToJson
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

$script:ScriptName = 'Set-CbtHardening'
$script:Target = Get-LocalFqdn
$SettingPath = 'WSMan:\localhost\Service\Auth\CbtHardeningLevel'
$PolicyPath = 'HKLM:\SOFTWARE\Policies\Microsoft\Windows\WinRM\Service'

function Get-CbtState {
    $policy = Get-ItemProperty -Path $PolicyPath -ErrorAction SilentlyContinue
    $controlled = ($null -ne $policy -and $null -ne $policy.PSObject.Properties['CbtHardeningLevel'])
    return [ordered]@{ level = [string](Get-Item -Path $SettingPath).Value; policyControlled = $controlled }
}

try {
    $RollbackTo = $null
    if ($RequestBase64) {
        $request = Read-MonosyncRequest -Encoded $RequestBase64
        $Mode = [string]$request.mode
        $Level = [string]$request.params.Level
        $RollbackTo = $request.rollbackTo
    } elseif ($RollbackToJson) {
        $RollbackTo = ConvertFrom-Json -InputObject $RollbackToJson
    }
    $want = $Level
    if ($Mode -eq 'rollback') { $want = [string]$RollbackTo.level }
    if (-not $want) { throw (New-StepError -Code 'InvalidInput' -Class 'permanent' -Message 'Level is required') }

    $before = Get-CbtState
    $compliant = ($before.level -eq $want)
    if ($compliant -or $Mode -eq 'plan') {
        if (-not $compliant -and $before.policyControlled) { $script:Warnings.Add("a Group Policy sets CbtHardeningLevel ($($before.level)); apply will fail until the GPO changes") }
        Write-StepResult -StepMode $Mode -Compliant $compliant -Changed (-not $compliant) -Before $before -After ([ordered]@{ level = $want; policyControlled = $before.policyControlled })
        return
    }
    if ($before.policyControlled) {
        throw (New-StepError -Code 'PolicyControlled' -Class 'policy' -Message "CbtHardeningLevel is set by Group Policy ($PolicyPath); change the GPO to $want or set it to Not Configured")
    }
    Set-Item -Path $SettingPath -Value $want -Force
    Write-StepResult -StepMode $Mode -Compliant $false -Changed $true -Before $before -After (Get-CbtState)
} catch {
    Write-StepFailure -Record $_ -StepMode $Mode
}
