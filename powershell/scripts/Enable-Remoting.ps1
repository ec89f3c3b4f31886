<#
.SYNOPSIS
    Makes sure the WinRM service runs, starts automatically, listens, and the PowerShell endpoints are
    enabled (step 3.1).
.DESCRIPTION
    Checks first and changes only what is missing, in order: start type, service, then
    Enable-PSRemoting -Force -SkipNetworkProfileCheck (falling back to winrm quickconfig -q). Enabling
    remoting restarts WinRM, which drops the session this script arrived on: the caller verifies in
    a fresh session. Rollback restores only the start type; WinRM is never disabled on Exchange.
.PARAMETER Mode
    plan, apply or rollback.
.PARAMETER RequestBase64
    Base64 of UTF-8 JSON {mode, params, rollbackTo}; how the Monosync worker passes values.
.PARAMETER RollbackToJson
    For rollback by hand: the earlier 'before' state as JSON.
.EXAMPLE
    .\Enable-Remoting.ps1 -Mode plan
#>
[CmdletBinding()]
param(
    [Parameter(Position = 0)]
    [string]$RequestBase64,
    [ValidateSet('plan', 'apply', 'rollback')]
    [string]$Mode = 'plan',
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

$script:ScriptName = 'Enable-Remoting'
$script:Target = Get-LocalFqdn

function Get-StartType {
    $service = Get-Service -Name WinRM
    if ($null -ne $service.PSObject.Properties['StartType']) { return [string]$service.StartType }
    # .NET before 4.6.1 has no StartType: read the WMI start mode (Auto/Manual/Disabled).
    $mode = [string](Get-CimInstance -ClassName Win32_Service -Filter "Name='WinRM'").StartMode
    if ($mode -eq 'Auto') { return 'Automatic' }
    return $mode
}

function Get-RemotingState {
    $service = Get-Service -Name WinRM
    $listeners = @()
    if ([string]$service.Status -eq 'Running') {
        foreach ($listener in @(Get-WSManInstance -ResourceURI 'winrm/config/Listener' -Enumerate)) {
            if ([string]$listener.Enabled -eq 'true') {
                $listeners += [ordered]@{ transport = [string]$listener.Transport; port = [int]$listener.Port }
            }
        }
    }
    $endpoints = @(Get-PSSessionConfiguration | Where-Object { $_.Name -like 'Microsoft.PowerShell*' })
    $disabled = @($endpoints | Where-Object { [string]$_.Enabled -ne 'True' })
    return [ordered]@{
        serviceStatus    = [string]$service.Status
        startType        = Get-StartType
        listeners        = $listeners
        endpointsEnabled = ($endpoints.Count -gt 0 -and $disabled.Count -eq 0)
    }
}

function Test-Remoting {
    param($State)
    return ($State.serviceStatus -eq 'Running' -and $State.startType -eq 'Automatic' -and @($State.listeners).Count -gt 0 -and $State.endpointsEnabled)
}

try {
    $RollbackTo = $null
    if ($RequestBase64) {
        $request = Read-MonosyncRequest -Encoded $RequestBase64
        $Mode = [string]$request.mode
        $RollbackTo = $request.rollbackTo
    } elseif ($RollbackToJson) {
        $RollbackTo = ConvertFrom-Json -InputObject $RollbackToJson
    }
    $policy = Get-ItemProperty -Path 'HKLM:\SOFTWARE\Policies\Microsoft\Windows\WinRM\Service' -ErrorAction SilentlyContinue
    if ($null -ne $policy) { $script:Evidence['policyKeys'] = [string[]]@($policy.PSObject.Properties.Name | Where-Object { $_ -notlike 'PS*' }) }

    $before = Get-RemotingState

    if ($Mode -eq 'rollback') {
        $wanted = [string]$RollbackTo.startType
        $restore = ($wanted -and $wanted -ne 'Disabled' -and $wanted -ne $before.startType)
        if ($restore) { Set-Service -Name WinRM -StartupType $wanted }
        $script:Warnings.Add('listener, firewall and endpoint changes of Enable-PSRemoting are not undone; WinRM stays running')
        Write-StepResult -StepMode $Mode -Compliant (-not $restore) -Changed $restore -Before $before -After (Get-RemotingState)
        return
    }

    $compliant = Test-Remoting -State $before
    if ($Mode -eq 'plan' -or $compliant) {
        $predicted = [ordered]@{ serviceStatus = 'Running'; startType = 'Automatic'; listeners = $before.listeners; endpointsEnabled = $true }
        if (@($before.listeners).Count -eq 0) { $predicted['listeners'] = @([ordered]@{ transport = 'HTTP'; port = 5985 }) }
        if ($compliant) { $predicted = $before }
        Write-StepResult -StepMode $Mode -Compliant $compliant -Changed (-not $compliant) -Before $before -After $predicted
        return
    }

    $steps = @()
    if ($before.startType -ne 'Automatic') { Set-Service -Name WinRM -StartupType Automatic; $steps += 'Set-Service -StartupType Automatic' }
    if ($before.serviceStatus -ne 'Running') { Start-Service -Name WinRM; $steps += 'Start-Service WinRM' }
    if (-not (Test-Remoting -State (Get-RemotingState))) {
        try {
            Enable-PSRemoting -Force -SkipNetworkProfileCheck | Out-Null
            $steps += 'Enable-PSRemoting -Force -SkipNetworkProfileCheck'
        } catch {
            $script:Warnings.Add('Enable-PSRemoting failed (' + $_.Exception.Message + '); used winrm quickconfig -q')
            $output = & winrm.cmd quickconfig -q 2>&1
            if ($LASTEXITCODE -ne 0) { throw (New-StepError -Code 'PowerShellError' -Class 'permanent' -Message ('winrm quickconfig -q failed: ' + ($output -join ' '))) }
            $steps += 'winrm quickconfig -q'
        }
    }
    $script:Evidence['actions'] = [string[]]$steps
    Write-StepResult -StepMode $Mode -Compliant $false -Changed $true -Before $before -After (Get-RemotingState)
} catch {
    Write-StepFailure -Record $_ -StepMode $Mode
}
