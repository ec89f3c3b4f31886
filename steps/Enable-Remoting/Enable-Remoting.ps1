<#
.SYNOPSIS
    Makes sure the WinRM service runs, starts automatically, listens, and the PowerShell endpoints are
    enabled (step 3.1).
.DESCRIPTION
    Checks first and changes only what is missing, in order: start type, service, then, only when that
    is not enough, Enable-PSRemoting -Force -SkipNetworkProfileCheck (falling back to winrm quickconfig -q).
    Enabling remoting restarts WinRM, which drops the session this script arrived on: the caller verifies in
    a fresh session. While WinRM is stopped nothing answers for its listeners and endpoints: the state then
    reports none (reading them would start WinRM). Rollback restores only the start type, and never
    Disabled; WinRM is left running on Exchange, and the listener, firewall and endpoint changes of
    Enable-PSRemoting are not undone.
.PARAMETER Mode
    plan, apply or rollback (rollback needs the saved state: the 'before' of the earlier plan).
.PARAMETER RequestBase64
    Base64 of UTF-8 JSON {mode, params, rollbackTo}; how the Monosync worker passes values. params is {}.
.PARAMETER RollbackToJson
    For rollback by hand: the earlier 'before' state as JSON,
    {"serviceStatus":"Running","startType":"Manual","listeners":[{"transport":"HTTP","port":5985}],"endpointsEnabled":true}.
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
$ServiceName = 'WinRM'
# What Set-Service -StartupType takes on Windows PowerShell 5.1, as Get-Service spells it.
$StartTypes = @('Automatic', 'Manual', 'Disabled')
# System.ServiceProcess.ServiceControllerStatus, as Get-Service spells it.
$ServiceStatuses = @('Stopped', 'StartPending', 'StopPending', 'Running', 'ContinuePending', 'PausePending', 'Paused')
$Transports = @('HTTP', 'HTTPS')

function Get-PropertyValue {
    # A property of a Windows object by name, $null when it has none (strict mode throws on a missing one).
    param($Object, [string]$Name)
    if ($null -eq $Object) { return $null }
    $property = $Object.PSObject.Properties[$Name]
    if ($null -eq $property) { return $null }
    return $property.Value
}

function Get-StartType {
    param($Service)
    $startType = Get-PropertyValue -Object $Service -Name 'StartType'
    if ($null -ne $startType) { return [string]$startType }
    # .NET before 4.6.1 has no StartType: read the WMI start mode (Auto/Manual/Disabled).
    $mode = [string](Get-PropertyValue -Object (Get-WinCimService -Name $ServiceName) -Name 'StartMode')
    if ($mode -eq 'Auto') { return 'Automatic' }
    return $mode
}

function Get-RemotingState {
    $service = Get-WinService -Name $ServiceName
    $status = [string](Get-PropertyValue -Object $service -Name 'Status')
    $listeners = New-Object -TypeName 'System.Collections.Generic.List[object]'
    $endpointsEnabled = $false
    # A stopped WinRM answers nothing; asking for the endpoints would even start it (the WSMan: drive offers to).
    if ($status -eq 'Running') {
        foreach ($listener in @(Get-WinWsmanListener)) {
            if ([string](Get-PropertyValue -Object $listener -Name 'Enabled') -eq 'true') {
                $listeners.Add([ordered]@{ transport = [string](Get-PropertyValue -Object $listener -Name 'Transport'); port = [int](Get-PropertyValue -Object $listener -Name 'Port') })
            }
        }
        $endpoints = @(@(Get-WinPSSessionConfiguration) | Where-Object { [string](Get-PropertyValue -Object $_ -Name 'Name') -like 'Microsoft.PowerShell*' })
        $disabled = @($endpoints | Where-Object { [string](Get-PropertyValue -Object $_ -Name 'Enabled') -ne 'true' })
        $endpointsEnabled = ($endpoints.Count -gt 0 -and $disabled.Count -eq 0)
    }
    return [ordered]@{
        serviceStatus    = $status
        startType        = Get-StartType -Service $service
        listeners        = [object[]]$listeners.ToArray()
        endpointsEnabled = $endpointsEnabled
    }
}

function Test-Remoting {
    param($State)
    # Exact spellings, as Windows reports them and the lab compares them.
    return ($State.serviceStatus -ceq 'Running' -and $State.startType -ceq 'Automatic' -and @($State.listeners).Count -gt 0 -and $State.endpointsEnabled)
}

function Assert-RemotingState {
    # The saved state a rollback works from: every field with its JSON type (as Assert-RollbackState checks),
    # listeners an array of {transport, port}, and only values Windows reports. It comes from an earlier plan;
    # anything else was not written by this script and is refused, never acted on.
    param($State)
    Assert-RollbackState -State $State -Script $script:ScriptName -Strings @('serviceStatus', 'startType') -Booleans @('endpointsEnabled')
    $listeners = Get-RequestMember -Object $State -Name 'listeners'
    if ($listeners -isnot [System.Array]) { throw (New-InvalidInput -Message 'rollbackTo.listeners must be an array of {transport, port}') }
    foreach ($listener in $listeners) {
        $transport = Get-RequestMember -Object $listener -Name 'transport'
        $port = Get-RequestMember -Object $listener -Name 'port'
        if ($transport -isnot [string] -or $null -eq (Find-OrdinalMatch -Set $Transports -Value $transport)) { throw (New-InvalidInput -Message 'rollbackTo.listeners holds a transport other than HTTP or HTTPS') }
        if (-not ($port -is [int] -or $port -is [long]) -or $port -lt 1 -or $port -gt 65535) { throw (New-InvalidInput -Message 'rollbackTo.listeners holds a port that is not a TCP port number') }
    }
    if ($null -eq (Find-OrdinalMatch -Set $ServiceStatuses -Value $State.serviceStatus)) { throw (New-InvalidInput -Message 'rollbackTo.serviceStatus is not a service status Windows reports') }
    if ($null -eq (Find-OrdinalMatch -Set $StartTypes -Value $State.startType)) { throw (New-InvalidInput -Message 'rollbackTo.startType must be Automatic, Manual or Disabled') }
}

function Enable-RemotingOrQuickConfig {
    # Enable-PSRemoting, or winrm quickconfig -q when it fails; returns what ran. quickconfig's failure
    # (an exit code, or anything on stderr: it exits 0 after some) reports Enable-PSRemoting's own error.
    try {
        Enable-WinPSRemoting
        return 'Enable-PSRemoting -Force -SkipNetworkProfileCheck'
    } catch {
        $failure = $_
    }
    $script:Warnings.Add('Enable-PSRemoting failed (' + $failure.Exception.Message + '); trying winrm quickconfig -q')
    $quick = Invoke-WinRMQuickConfig
    $lines = @(Get-PropertyValue -Object $quick -Name 'Lines')
    $stderr = @($lines | Where-Object { $_ -is [System.Management.Automation.ErrorRecord] })
    if ([string](Get-PropertyValue -Object $quick -Name 'ExitCode') -ne '0' -or $stderr.Count -gt 0) {
        $text = @($lines | Where-Object { $null -ne $_ } | ForEach-Object { ([string]$_).Trim() } | Where-Object { $_ }) -join ' '
        $script:Warnings.Add('winrm quickconfig -q failed (exit code ' + [string](Get-PropertyValue -Object $quick -Name 'ExitCode') + '): ' + $text)
        throw $failure
    }
    return 'winrm quickconfig -q'
}

try {
    $RollbackTo = $null
    if ($RequestBase64) {
        $request = Read-MonosyncRequest -Encoded $RequestBase64
        # Assigning re-runs the parameter's ValidateSet: a bad mode throws InvalidInput here.
        $Mode = Get-RequestString -Object $request -Name 'mode'
        # The step takes no parameters: params is the empty object, as the worker always sends it.
        $params = Get-RequestMember -Object $request -Name 'params'
        if ($params -isnot [System.Management.Automation.PSCustomObject]) { throw (New-InvalidInput -Message 'params must be a JSON object') }
        if (@($params.PSObject.Properties).Count -gt 0) { throw (New-InvalidInput -Message "$($script:ScriptName) takes no parameters (params must be {})") }
        $RollbackTo = Get-RequestMember -Object $request -Name 'rollbackTo'
    } elseif ($RollbackToJson) {
        $RollbackTo = ConvertFrom-RollbackJson -Json $RollbackToJson
    }
    # Refused: reported as plan (the envelope carries only a valid mode).
    try { $Mode = Resolve-StepMode -Mode $Mode } catch { $Mode = 'plan'; throw }

    if ($Mode -eq 'rollback') {
        # Never act without the saved state, and restore only the start type: WinRM stays running.
        Assert-RemotingState -State $RollbackTo
        $wanted = [string]$RollbackTo.startType
        $before = Get-RemotingState
        $script:Warnings.Add('WinRM is left running (Exchange needs it); the listener, firewall and endpoint changes of Enable-PSRemoting are not undone')
        $restore = ($wanted -cne 'Disabled' -and $wanted -cne $before.startType)
        if ($wanted -ceq 'Disabled' -and $before.startType -cne 'Disabled') { $script:Warnings.Add('the saved start type Disabled is not restored: WinRM would not start after a reboot') }
        if (-not $restore) {
            Write-StepResult -StepMode $Mode -Compliant $true -Changed $false -Before $before -After $before
            return
        }
        Set-WinServiceStartType -Name $ServiceName -StartupType $wanted
        Write-StepResult -StepMode $Mode -Compliant $false -Changed $true -Before $before -After (Get-RemotingState)
        return
    }

    $before = Get-RemotingState
    if ($before.serviceStatus -ne 'Running') { $script:Warnings.Add('WinRM is not running: its listeners and endpoints are read once it runs') }
    $compliant = Test-Remoting -State $before
    if ($compliant) {
        Write-StepResult -StepMode $Mode -Compliant $true -Changed $false -Before $before -After $before
        return
    }
    if ($Mode -eq 'plan') {
        $listeners = $before.listeners
        if (@($listeners).Count -eq 0) { $listeners = [object[]]@([ordered]@{ transport = 'HTTP'; port = 5985 }) }
        $predicted = [ordered]@{ serviceStatus = 'Running'; startType = 'Automatic'; listeners = $listeners; endpointsEnabled = $true }
        Write-StepResult -StepMode $Mode -Compliant $false -Changed $true -Before $before -After $predicted
        return
    }

    # Least first: the start type and the service, then Enable-PSRemoting only if they were not enough (it
    # restarts WinRM and so cuts the session this script came in on).
    $actions = New-Object -TypeName 'System.Collections.Generic.List[string]'
    if ($before.startType -cne 'Automatic') { Set-WinServiceStartType -Name $ServiceName -StartupType 'Automatic'; $actions.Add('Set-Service -StartupType Automatic') }
    if ($before.serviceStatus -cne 'Running') { Start-WinService -Name $ServiceName; $actions.Add('Start-Service WinRM') }
    if (-not (Test-Remoting -State (Get-RemotingState))) { $actions.Add((Enable-RemotingOrQuickConfig)) }
    $script:Evidence['actions'] = [string[]]$actions.ToArray()
    $after = Get-RemotingState
    if (-not (Test-Remoting -State $after)) { $script:Warnings.Add('remoting is still not fully enabled after ' + ($actions -join ', ')) }
    Write-StepResult -StepMode $Mode -Compliant $false -Changed $true -Before $before -After $after
} catch {
    Write-StepFailure -Record $_ -StepMode $Mode
}
