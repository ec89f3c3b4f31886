<#
.SYNOPSIS
    Makes sure the WinRM service runs, starts automatically, listens, and the PowerShell endpoints are
    enabled (step 3.1).
.DESCRIPTION
    Checks first and changes only what is missing, in order: start type, service, then, only when that
    is not enough, the HTTP listener and the Microsoft.PowerShell endpoint. Those last two restart WinRM,
    which would cut the session this script arrived on half way and return nothing, so they do not run
    here: the script registers a one-shot scheduled task \Monosync\Enable-Remoting that runs them as
    SYSTEM seconds after this script has returned (Set-WSManQuickConfig, Enable-PSSessionConfiguration
    Microsoft.PowerShell, Restart-Service WinRM), reports it as scheduled, and the task unregisters itself
    once it succeeded. While that task is pending every mode fails as WinRMUnavailable (transient: the
    caller retries with backoff until WinRM answers again and the change reads back); a task that failed
    or never started is reported by plan and removed by apply. Only the Microsoft.PowerShell endpoint is
    checked and changed: other endpoints an administrator disabled (32-bit, workflow) are reported and
    left disabled. Group Policy that wins over these settings stops plan and apply with PolicyControlled,
    naming the policy and its fix, before anything is changed: 'Allow remote server management through WinRM'
    with an empty IPv4 filter (WinRM then listens on no IPv4 address, whatever listener exists) and a 'System
    Services' entry that sets WinRM's start type to anything but Automatic. While WinRM is stopped nothing
    answers for its listeners and endpoints: the state then reports none (reading them would start WinRM).
    Rollback restores only the start type, and never Disabled; WinRM is left running on Exchange, and the
    listener, firewall and endpoint changes are not undone.
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
# The one endpoint Monosync connects to; the other default ones (32-bit, workflow) are an administrator's call.
$Endpoint = 'Microsoft.PowerShell'
# The one-shot task that makes the WinRM-restarting changes after this script has returned.
$TaskPath = '\Monosync\'
$TaskName = 'Enable-Remoting'
$TaskLabel = $TaskPath + $TaskName
# Task Scheduler's LastTaskResult values that are not an exit code (SCHED_S_TASK_*: winerror.h).
$TaskHasNotRun = 267011    # 0x41303
$TaskRunning = 267009      # 0x41301
$TaskQueued = 267045       # 0x41325
# What the task's exit codes mean (the step it was at when it failed; see New-RemotingTaskCommand).
$TaskExitCodes = @{
    10 = 'Set-WSManQuickConfig failed (the HTTP listener, its firewall exception, the service)'
    11 = 'Enable-PSSessionConfiguration Microsoft.PowerShell failed'
    12 = 'Restart-Service WinRM failed'
    13 = 'the change was made but the task could not unregister itself'
}

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
    $endpointEnabled = $false
    $script:OtherEndpointsDisabled = [string[]]@()
    # A stopped WinRM answers nothing; asking for the endpoints would even start it (the WSMan: drive offers to).
    if ($status -eq 'Running') {
        foreach ($listener in @(Get-WinWsmanListener)) {
            if ([string](Get-PropertyValue -Object $listener -Name 'Enabled') -eq 'true') {
                $listeners.Add([ordered]@{ transport = [string](Get-PropertyValue -Object $listener -Name 'Transport'); port = [int](Get-PropertyValue -Object $listener -Name 'Port') })
            }
        }
        # Only Microsoft.PowerShell decides (endpoint names compare case-insensitively, as WinRM's plugins do);
        # the other default endpoints disabled are reported, never enabled: an administrator disables
        # microsoft.powershell32 or microsoft.powershell.workflow on purpose.
        $other = New-Object -TypeName 'System.Collections.Generic.List[string]'
        foreach ($configuration in @(Get-WinPSSessionConfiguration)) {
            $name = [string](Get-PropertyValue -Object $configuration -Name 'Name')
            $enabled = ([string](Get-PropertyValue -Object $configuration -Name 'Enabled') -eq 'true')
            if ($name -eq $Endpoint) { $endpointEnabled = $enabled }
            elseif ($name -like 'Microsoft.PowerShell*' -and -not $enabled) { $other.Add($name) }
        }
        $script:OtherEndpointsDisabled = [string[]]$other.ToArray()
    }
    return [ordered]@{
        serviceStatus    = $status
        startType        = Get-StartType -Service $service
        listeners        = [object[]]$listeners.ToArray()
        endpointsEnabled = $endpointEnabled
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

function Get-RemotingTask {
    # This step's scheduled task, or $null: {state, lastTaskResult, status} where status is 'pending' (started,
    # queued or running: its WinRM restart is still to come), 'never-started' (registered by a run that died
    # before it started it) or 'ended' (it ran and is still there: it failed, as a success unregisters it).
    $task = @(Get-WinScheduledTask) | Where-Object { [string](Get-PropertyValue -Object $_ -Name 'TaskPath') -eq $TaskPath -and [string](Get-PropertyValue -Object $_ -Name 'TaskName') -eq $TaskName } | Select-Object -First 1
    if ($null -eq $task) { return $null }
    $state = [string](Get-PropertyValue -Object $task -Name 'State')
    $result = [long](Get-PropertyValue -Object (Get-WinScheduledTaskInfo -TaskPath $TaskPath -TaskName $TaskName) -Name 'LastTaskResult')
    $status = 'ended'
    if ($state -eq 'Running' -or $state -eq 'Queued' -or $result -eq $TaskRunning -or $result -eq $TaskQueued) { $status = 'pending' }
    elseif ($result -eq $TaskHasNotRun) { $status = 'never-started' }
    return [ordered]@{ state = $state; lastTaskResult = $result; status = $status }
}

function Get-RemotingTaskProblem {
    # What an ended or never-started task says, for a warning or the error of an apply.
    param($Task)
    if ($Task.status -eq 'never-started') { return "the scheduled task $TaskLabel was registered but never started" }
    $result = [long]$Task.lastTaskResult
    $meaning = $null
    if ($result -ge 10 -and $result -le 13) { $meaning = $TaskExitCodes[[int]$result] }
    if ($null -eq $meaning) { $meaning = 'powershell.exe did not finish the change' }
    $shown = [string]$result
    if ($result -gt 65535) { $shown = '0x{0:X8}' -f $result }
    return ("the scheduled task $TaskLabel ended with exit code $shown ($meaning)")
}

function Assert-NoPendingTask {
    param($Task)
    if ($null -ne $Task -and $Task.status -eq 'pending') {
        throw (New-StepError -Code 'WinRMUnavailable' -Class 'transient' -Message "the scheduled task $TaskLabel is still to run ($($Task.state)): it restarts WinRM within seconds; this step reads the server again once WinRM answers")
    }
}

function New-RemotingTaskCommand {
    # The text the task runs in powershell.exe as SYSTEM: only constants, never a value from the request. It
    # waits a few seconds so the session that scheduled it has returned its answer, makes what is missing,
    # restarts WinRM (the changes take effect then), and unregisters itself; a failure exits with the code of
    # the step it was at (see $TaskExitCodes) and leaves the task registered, so the next run can report it.
    param([bool]$NeedListener, [bool]$NeedEndpoint)
    $lines = @(
        '# Monosync onboarding, manual step 3.1 (Enable-Remoting.ps1): run once by Task Scheduler as SYSTEM, after'
        '# the remote session that scheduled it has returned, because these commands restart WinRM.'
        'Start-Sleep -Seconds 10'
        '$ErrorActionPreference = ''Stop'''
        '$code = 10'
        'try {'
        if ($NeedListener) { '    $null = Set-WSManQuickConfig -Force -SkipNetworkProfileCheck' }
        '    $code = 11'
        if ($NeedEndpoint) { '    Enable-PSSessionConfiguration -Name ''' + $Endpoint + ''' -Force -SkipNetworkProfileCheck -NoServiceRestart' }
        '    $code = 12'
        '    Restart-Service -Name WinRM -Force'
        '    $code = 13'
        ('    Unregister-ScheduledTask -TaskPath ''' + $TaskPath + ''' -TaskName ''' + $TaskName + ''' -Confirm:$false')
        '} catch {'
        '    exit $code'
        '}'
        'exit 0'
    )
    return ($lines -join "`r`n")
}

function Register-RemotingTask {
    # Registers and starts the task; returns what it will do, for evidence.actions.
    param([bool]$NeedListener, [bool]$NeedEndpoint)
    $command = New-RemotingTaskCommand -NeedListener $NeedListener -NeedEndpoint $NeedEndpoint
    $encoded = [System.Convert]::ToBase64String([System.Text.Encoding]::Unicode.GetBytes($command))
    Register-WinScheduledTask -TaskPath $TaskPath -TaskName $TaskName -Execute 'powershell.exe' -Argument ('-NoProfile -NonInteractive -ExecutionPolicy Bypass -EncodedCommand ' + $encoded) -UserId 'NT AUTHORITY\SYSTEM' -ExecutionTimeLimitMinutes 10 -Description 'Monosync onboarding: enables PowerShell remoting (restarts WinRM) after the session that scheduled it has returned; deletes itself when done.'
    Start-WinScheduledTask -TaskPath $TaskPath -TaskName $TaskName
    $what = New-Object -TypeName 'System.Collections.Generic.List[string]'
    if ($NeedListener) { $what.Add('Set-WSManQuickConfig') }
    if ($NeedEndpoint) { $what.Add("Enable-PSSessionConfiguration $Endpoint") }
    $what.Add('Restart-Service WinRM')
    return ("scheduled task $TaskLabel as SYSTEM: " + ($what -join ', '))
}

try {
    $step = Read-StepRequest -Encoded $RequestBase64 -Mode $Mode -RollbackToJson $RollbackToJson
    $Mode = $step.Mode
    $RollbackTo = $step.RollbackTo
    # The step takes no parameters: params is the empty object, as the worker always sends it.
    [void](Get-MonosyncRequestParams -Step $step -Names @())

    if ($Mode -eq 'rollback') {
        # Never act without the saved state, and restore only the start type: WinRM stays running.
        Assert-RemotingState -State $RollbackTo
        Assert-NoPendingTask -Task (Get-RemotingTask)
        $wanted = [string]$RollbackTo.startType
        $before = Get-RemotingState
        $script:Warnings.Add('WinRM is left running (Exchange needs it); the listener, firewall and endpoint changes of enabling remoting are not undone')
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

    # A task still to run restarts WinRM any moment: nothing read now would last, so wait for it (transient).
    $task = Get-RemotingTask
    Assert-NoPendingTask -Task $task
    # Group Policy that wins over what this step sets: an empty IPv4 filter of 'Allow remote server management
    # through WinRM' (no listener made here would answer over IPv4), a 'System Services' start type other than
    # Automatic (put back at every refresh). Reported for an operator, never fought; nothing is changed.
    foreach ($problem in @((Get-WinRMListenerPolicyProblem -Policy (Get-WinRMListenerPolicy)), (Get-WinRMStartPolicyProblem -Policy (Get-WinRMStartPolicy)))) {
        if ($null -ne $problem) { throw (New-StepError -Code 'PolicyControlled' -Class 'policy' -Message $problem) }
    }
    $before = Get-RemotingState
    if ($before.serviceStatus -ne 'Running') { $script:Warnings.Add('WinRM is not running: its listeners and endpoints are read once it runs') }
    if ($script:OtherEndpointsDisabled.Count -gt 0) { $script:Warnings.Add('left disabled, as an administrator chose (Monosync connects to Microsoft.PowerShell only): ' + ($script:OtherEndpointsDisabled -join ', ')) }
    $compliant = Test-Remoting -State $before
    if ($null -ne $task) {
        $problem = Get-RemotingTaskProblem -Task $task
        if ($Mode -eq 'plan') {
            $script:Warnings.Add($problem + '; apply removes it')
        } else {
            # Removed either way, so that a retry schedules the change afresh instead of finding it again.
            Unregister-WinScheduledTask -TaskPath $TaskPath -TaskName $TaskName
            if ($compliant -or $task.status -eq 'never-started') {
                $script:Warnings.Add($problem + '; removed')
            } else {
                throw (New-StepError -Code 'PowerShellError' -Class 'permanent' -Message ($problem + '; the task was removed. Run Set-WSManQuickConfig and Enable-PSSessionConfiguration Microsoft.PowerShell on the server''s console to see the error, fix its cause, then retry.'))
            }
        }
    }
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

    # Least first: the start type and the service (neither restarts WinRM), then, only if they were not enough,
    # the listener and the endpoint, by the scheduled task: they restart WinRM, which must not happen under the
    # session this script came in on.
    $actions = New-Object -TypeName 'System.Collections.Generic.List[string]'
    if ($before.startType -cne 'Automatic') { Set-WinServiceStartType -Name $ServiceName -StartupType 'Automatic'; $actions.Add('Set-Service -StartupType Automatic') }
    if ($before.serviceStatus -cne 'Running') { Start-WinService -Name $ServiceName; $actions.Add('Start-Service WinRM') }
    $started = Get-RemotingState
    $scheduled = $false
    if (-not (Test-Remoting -State $started)) {
        $actions.Add((Register-RemotingTask -NeedListener (@($started.listeners).Count -eq 0) -NeedEndpoint (-not $started.endpointsEnabled)))
        $script:Evidence['scheduledTask'] = $TaskLabel
        $script:Warnings.Add("WinRM restarts when $TaskLabel runs, within seconds: sessions to this server drop and it does not answer for a while; the change reads back once it answers again")
        $scheduled = $true
    }
    $script:Evidence['actions'] = [string[]]$actions.ToArray()
    $after = Get-RemotingState
    if (-not $scheduled -and -not (Test-Remoting -State $after)) { $script:Warnings.Add('remoting is still not fully enabled after ' + ($actions -join ', ')) }
    Write-StepResult -StepMode $Mode -Compliant $false -Changed $true -Before $before -After $after
} catch {
    Write-StepFailure -Record $_ -StepMode $Mode
}
