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

#monosync-common: the helpers of powershell/MonosyncCommon.ps1 go here (fleet script <step> writes the whole script)

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
