# Pester 5 tests of Enable-Remoting.ps1 in real pwsh; nothing here needs Windows. Run by `npm run test:ps`
# and `npm test` (scripts/test-ps.ts).
#
# The script runs exactly as the runner sends it (its standalone text with powershell/MonosyncCommon.ps1 in
# place, one script block in a fresh module, the request as base64 JSON), always under Set-StrictMode
# -Version Latest, with every Windows operation replaced through the seam (test/powershell/SeamTestKit.psm1):
# LabSeam binds the seam to a lab host (the LabHost JSON of lab/model.ts: winrm, listeners,
# sessionConfiguration, firewall), and single seam functions are replaced by fakes that return what Windows
# returns or throw the error records it really produces. The last test checks every envelope printed here
# against the zod schemas the activities use.

BeforeAll {
    Import-Module -Name (Join-Path -Path $PSScriptRoot -ChildPath '../../test/powershell/SeamTestKit.psm1') -Force
    Import-Module -Name (Join-Path -Path $PSScriptRoot -ChildPath '../../test/powershell/LabSeam.psm1') -Force
    $script:Writes = @('Set-WinServiceStartType', 'Start-WinService', 'Register-WinScheduledTask', 'Start-WinScheduledTask', 'Unregister-WinScheduledTask')
    $script:TaskLabel = '\Monosync\Enable-Remoting'
    $script:Saved = [ordered]@{ serviceStatus = 'Stopped'; startType = 'Manual'; listeners = @(); endpointsEnabled = $false }

    function New-RemotingRequest {
        param([string]$Mode = 'plan', $RollbackTo = $null, $Params = @{})
        return [ordered]@{ mode = $Mode; params = $Params; rollbackTo = $RollbackTo }
    }

    function Invoke-Remoting {
        param($Request, [string]$RequestJson)
        return (Invoke-StepEnvelope -Name 'Enable-Remoting' -Request $Request -RequestJson $RequestJson)
    }

    function Get-LastLine {
        # The envelope line itself, to see how a value was serialised.
        return [string](Get-LastStepOutput)[0]
    }

    function Use-RemotingHost {
        # A fresh lab host (running, Automatic, one local HTTP listener, endpoints enabled) changed as given,
        # bound to the seam; returned so tests see what the script changed.
        param([string]$Status, [string]$StartType, $Listeners, $EndpointsEnabled)
        $machine = New-LabHost -Profile fresh
        if ($Status) { $machine.winrm.status = $Status }
        if ($StartType) { $machine.winrm.startType = $StartType }
        if ($PSBoundParameters.ContainsKey('Listeners')) { $machine.listeners = [object[]]@($Listeners) }
        if ($PSBoundParameters.ContainsKey('EndpointsEnabled')) { $machine.sessionConfiguration.endpointsEnabled = [bool]$EndpointsEnabled }
        Use-LabSeam -Machine $machine
        return $machine
    }

    function New-LabListener {
        param([string]$Transport = 'HTTP', [int]$Port = 5985, [bool]$Enabled = $true, [string]$Source = 'Local')
        return [pscustomobject]@{ address = '*'; transport = $Transport; port = $Port; hostname = ''; thumbprint = ''; enabled = $Enabled; source = $Source }
    }

    function Get-Writes {
        # Callers wrap the call in @(...): the calls come one by one.
        Get-SeamCall | Where-Object { $script:Writes -contains $_.Name }
    }

    function Add-RemotingTask {
        # The step's task on the machine, as Task Scheduler reports it (lab/model.ts LabScheduledTask).
        param($Machine, [string]$State, [long]$LastTaskResult)
        $task = [pscustomobject]@{ path = '\Monosync\'; name = 'Enable-Remoting'; state = $State; lastTaskResult = $LastTaskResult; runAs = 'NT AUTHORITY\SYSTEM' }
        $Machine | Add-Member -NotePropertyName scheduledTasks -NotePropertyValue ([object[]]@($task)) -Force
    }

    function Get-RemotingTaskCommand {
        # The text the registered task runs: its -EncodedCommand argument decoded (UTF-16LE, as powershell.exe reads it).
        param($Call)
        $argument = [string]$Call.Parameters.Argument
        $encoded = ($argument -split ' ')[-1]
        return [System.Text.Encoding]::Unicode.GetString([System.Convert]::FromBase64String($encoded))
    }

    function New-StderrLine {
        # A native command's stderr line under 2>&1: an ErrorRecord around a RemoteException with the line as
        # its message, FQID 'NativeCommandError' for the first line and 'NativeCommandErrorMessage' after it.
        param([string]$Text, [switch]$First)
        $id = 'NativeCommandErrorMessage'
        if ($First) { $id = 'NativeCommandError' }
        return (New-WindowsErrorRecord -Exception (New-Object -TypeName System.Management.Automation.RemoteException -ArgumentList $Text) -ErrorId $id)
    }
}

AfterAll {
    Remove-SeamFake
}

Describe 'Enable-Remoting.ps1' {
    It 'does every Windows operation through the seam' {
        Get-StepSeamViolation -Name 'Enable-Remoting' | Should -BeNullOrEmpty
        $commands = (Get-StepScriptCommand -Name 'Enable-Remoting').Commands
        foreach ($seam in 'Get-WinService', 'Get-WinCimService', 'Get-WinWsmanListener', 'Get-WinPSSessionConfiguration', 'Set-WinServiceStartType', 'Start-WinService', 'Get-WinScheduledTask', 'Get-WinScheduledTaskInfo', 'Register-WinScheduledTask', 'Start-WinScheduledTask', 'Unregister-WinScheduledTask') {
            $commands | Should -Contain $seam
        }
        # What restarts WinRM never runs in the script's own session.
        foreach ($restarting in 'Enable-PSRemoting', 'Set-WSManQuickConfig', 'Enable-PSSessionConfiguration', 'Restart-Service', 'Enable-WinPSRemoting', 'Invoke-WinRMQuickConfig') {
            $commands | Should -Not -Contain $restarting
        }
    }

    Context 'plan, apply, verify and rollback on a lab host' {
        It 'plan and apply on a compliant host change nothing' {
            $machine = Use-RemotingHost
            foreach ($mode in 'plan', 'apply') {
                $envelope = Invoke-Remoting (New-RemotingRequest -Mode $mode)
                $envelope.ok | Should -BeTrue
                $envelope.mode | Should -Be $mode
                $envelope.compliant | Should -BeTrue
                $envelope.changed | Should -BeFalse
                $envelope.target | Should -Be 'exch01.corp.example'
                $envelope.before.serviceStatus | Should -Be 'Running'
                $envelope.before.startType | Should -Be 'Automatic'
                $envelope.before.endpointsEnabled | Should -BeTrue
                @($envelope.after.listeners).Count | Should -Be 1
                @($envelope.evidence.PSObject.Properties).Count | Should -Be 0
            }
            Get-Writes | Should -BeNullOrEmpty
            $machine.winrm.status | Should -Be 'Running'
        }

        It 'plan on a stopped WinRM predicts, writes nothing, and never asks a stopped WinRM for listeners or endpoints' {
            $machine = Use-RemotingHost -Status 'Stopped' -StartType 'Manual'
            $envelope = Invoke-Remoting (New-RemotingRequest -Mode plan)
            $envelope.ok | Should -BeTrue
            $envelope.compliant | Should -BeFalse
            $envelope.changed | Should -BeTrue
            $envelope.before.serviceStatus | Should -Be 'Stopped'
            $envelope.before.startType | Should -Be 'Manual'
            @($envelope.before.listeners).Count | Should -Be 0
            $envelope.before.endpointsEnabled | Should -BeFalse
            $envelope.after.serviceStatus | Should -Be 'Running'
            $envelope.after.startType | Should -Be 'Automatic'
            $envelope.after.listeners[0].transport | Should -Be 'HTTP'
            $envelope.after.listeners[0].port | Should -Be 5985
            $envelope.after.endpointsEnabled | Should -BeTrue
            # Get-PSSessionConfiguration would start WinRM through the WSMan: drive (or prompt).
            Get-SeamCall -Name Get-WinPSSessionConfiguration | Should -BeNullOrEmpty
            Get-SeamCall -Name Get-WinWsmanListener | Should -BeNullOrEmpty
            Get-Writes | Should -BeNullOrEmpty
            $machine.winrm.status | Should -Be 'Stopped'
        }

        It 'apply on a stopped, Manual WinRM sets Automatic, then starts it, without Enable-PSRemoting; verify finds it; rollback restores Manual and leaves it running' {
            $machine = Use-RemotingHost -Status 'Stopped' -StartType 'Manual'
            $plan = Invoke-Remoting (New-RemotingRequest -Mode plan)

            $apply = Invoke-Remoting (New-RemotingRequest -Mode apply)
            $apply.ok | Should -BeTrue
            $apply.changed | Should -BeTrue
            $apply.compliant | Should -BeFalse
            $apply.after.serviceStatus | Should -Be 'Running'
            $apply.after.startType | Should -Be 'Automatic'
            $apply.after.endpointsEnabled | Should -BeTrue
            $apply.evidence.actions | Should -Be @('Set-Service -StartupType Automatic', 'Start-Service WinRM')
            $writes = @(Get-Writes)
            $writes.Count | Should -Be 2
            $writes[0].Name | Should -Be 'Set-WinServiceStartType'
            $writes[0].Parameters.Name | Should -Be 'WinRM'
            $writes[0].Parameters.StartupType | Should -Be 'Automatic'
            $writes[1].Name | Should -Be 'Start-WinService'
            $writes[1].Parameters.Name | Should -Be 'WinRM'

            $verify = Invoke-Remoting (New-RemotingRequest -Mode plan)
            $verify.compliant | Should -BeTrue
            $verify.changed | Should -BeFalse

            Clear-SeamCall
            $rollback = Invoke-Remoting (New-RemotingRequest -Mode rollback -RollbackTo $plan.before)
            $rollback.ok | Should -BeTrue
            $rollback.changed | Should -BeTrue
            $rollback.before.startType | Should -Be 'Automatic'
            $rollback.after.startType | Should -Be 'Manual'
            $rollback.after.serviceStatus | Should -Be 'Running'
            ($rollback.warnings -join ' ') | Should -Match 'left running'
            $writes = @(Get-Writes)
            $writes.Count | Should -Be 1
            $writes[0].Parameters.StartupType | Should -Be 'Manual'
            $machine.winrm.startType | Should -Be 'Manual'
            $machine.winrm.status | Should -Be 'Running'
        }

        It 'apply on a running WinRM that is only Manual changes the start type alone: no WinRM restart, so the session survives' {
            $machine = Use-RemotingHost -StartType 'Manual'
            $apply = Invoke-Remoting (New-RemotingRequest -Mode apply)
            $apply.ok | Should -BeTrue
            $apply.evidence.actions | Should -Be @('Set-Service -StartupType Automatic')
            Get-LastLine | Should -Match '"actions":\["Set-Service -StartupType Automatic"\]'
            @(Get-Writes).Name | Should -Be @('Set-WinServiceStartType')
            $machine.winrm.startType | Should -Be 'Automatic'
        }

        It 'apply on a disabled, stopped WinRM makes it Automatic before it starts it' {
            $machine = Use-RemotingHost -Status 'Stopped' -StartType 'Disabled'
            $apply = Invoke-Remoting (New-RemotingRequest -Mode apply)
            $apply.ok | Should -BeTrue
            @(Get-Writes).Name | Should -Be @('Set-WinServiceStartType', 'Start-WinService')
            $machine.winrm.startType | Should -Be 'Automatic'
            $machine.winrm.status | Should -Be 'Running'
        }

        It 'does not run the WinRM-restarting commands in its session but schedules them (<Case>), then fails as WinRMUnavailable until the task has run' -ForEach @(
            @{ Case = 'no listener is configured'; Listeners = @(); Endpoints = $true; What = 'Set-WSManQuickConfig, Restart-Service WinRM' }
            @{ Case = 'Microsoft.PowerShell is disabled'; Listeners = $null; Endpoints = $false; What = 'Enable-PSSessionConfiguration Microsoft.PowerShell, Restart-Service WinRM' }
            @{ Case = 'the only HTTP listener is disabled and so is the endpoint'; Listeners = 'disabled'; Endpoints = $false; What = 'Set-WSManQuickConfig, Enable-PSSessionConfiguration Microsoft.PowerShell, Restart-Service WinRM' }
        ) {
            if ($Listeners -eq 'disabled') { $machine = Use-RemotingHost -Listeners @(New-LabListener -Enabled $false) -EndpointsEnabled $Endpoints }
            elseif ($null -eq $Listeners) { $machine = Use-RemotingHost -EndpointsEnabled $Endpoints }
            else { $machine = Use-RemotingHost -Listeners $Listeners -EndpointsEnabled $Endpoints }
            $listenersBefore = ConvertTo-Json -InputObject @($machine.listeners) -Depth 5 -Compress
            $apply = Invoke-Remoting (New-RemotingRequest -Mode apply)
            $apply.ok | Should -BeTrue
            $apply.changed | Should -BeTrue
            $apply.compliant | Should -BeFalse
            $apply.evidence.scheduledTask | Should -Be $script:TaskLabel
            $apply.evidence.actions | Should -Be @("scheduled task $($script:TaskLabel) as SYSTEM: $What")
            ($apply.warnings -join ' ') | Should -Match 'WinRM restarts when'
            # Registered as SYSTEM, then started; nothing else written, nothing of the host changed yet.
            $writes = @(Get-Writes)
            $writes.Name | Should -Be @('Register-WinScheduledTask', 'Start-WinScheduledTask')
            $writes[0].Parameters.TaskPath | Should -Be '\Monosync\'
            $writes[0].Parameters.TaskName | Should -Be 'Enable-Remoting'
            $writes[0].Parameters.UserId | Should -Be 'NT AUTHORITY\SYSTEM'
            $writes[0].Parameters.Execute | Should -Be 'powershell.exe'
            $writes[0].Parameters.Argument | Should -Match '^-NoProfile -NonInteractive -ExecutionPolicy Bypass -EncodedCommand [A-Za-z0-9+/=]+$'
            $apply.after.endpointsEnabled | Should -Be ([bool]$Endpoints)
            $machine.sessionConfiguration.endpointsEnabled | Should -Be ([bool]$Endpoints)
            (ConvertTo-Json -InputObject @($machine.listeners) -Depth 5 -Compress) | Should -Be $listenersBefore
            $machine.scheduledTasks[0].state | Should -Be 'Running'

            # Until the task has run (and WinRM restarted), every mode fails as transient and touches nothing.
            Clear-SeamCall
            foreach ($mode in 'plan', 'apply', 'rollback') {
                $envelope = Invoke-Remoting (New-RemotingRequest -Mode $mode -RollbackTo $script:Saved)
                $envelope.ok | Should -BeFalse
                $envelope.error.code | Should -Be 'WinRMUnavailable'
                $envelope.error.class | Should -Be 'transient'
                $envelope.error.message | Should -Match ([regex]::Escape($script:TaskLabel))
                Get-FailureType -Code $envelope.error.code -Class $envelope.error.class | Should -Be 'WinRMUnavailable'
            }
            @(Get-Writes) | Should -BeNullOrEmpty
            Get-SeamCall -Name Get-WinService | Should -BeNullOrEmpty
        }

        It 'the scheduled command does only what is missing, never takes a value from the request, and unregisters the task last' {
            $machine = Use-RemotingHost -Listeners @() -EndpointsEnabled $true
            Invoke-Remoting (New-RemotingRequest -Mode apply) | Out-Null
            $command = Get-RemotingTaskCommand -Call (Get-SeamCall -Name Register-WinScheduledTask)[0]
            $command | Should -Match 'Set-WSManQuickConfig -Force -SkipNetworkProfileCheck'
            $command | Should -Not -Match 'Enable-PSSessionConfiguration'
            $command | Should -Not -Match 'Enable-PSRemoting'
            $command | Should -Match "Unregister-ScheduledTask -TaskPath '\\Monosync\\' -TaskName 'Enable-Remoting' -Confirm:\`$false\s+\} catch"
            $machine.scheduledTasks = [object[]]@()
            $machine.listeners = [object[]]@(New-LabListener)
            $machine.sessionConfiguration.endpointsEnabled = $false
            Clear-SeamCall
            Invoke-Remoting (New-RemotingRequest -Mode apply) | Out-Null
            $command = Get-RemotingTaskCommand -Call (Get-SeamCall -Name Register-WinScheduledTask)[0]
            $command | Should -Match "Enable-PSSessionConfiguration -Name 'Microsoft.PowerShell' -Force -SkipNetworkProfileCheck -NoServiceRestart"
            $command | Should -Not -Match 'Set-WSManQuickConfig'
            $command | Should -Not -Match 'microsoft.powershell32|Workflow|\*'
        }

        It 'the scheduled command, run by powershell as Task Scheduler would, exits <Code> when <Case>' -ForEach @(
            @{ Case = 'every command succeeds (and the task unregisters itself)'; Fails = ''; Code = 0; Calls = @('Start-Sleep', 'Set-WSManQuickConfig', 'Enable-PSSessionConfiguration', 'Restart-Service', 'Unregister-ScheduledTask') }
            @{ Case = 'Set-WSManQuickConfig fails (a conflicting Group Policy)'; Fails = 'Set-WSManQuickConfig'; Code = 10; Calls = @('Start-Sleep', 'Set-WSManQuickConfig') }
            @{ Case = 'Enable-PSSessionConfiguration fails'; Fails = 'Enable-PSSessionConfiguration'; Code = 11; Calls = @('Start-Sleep', 'Set-WSManQuickConfig', 'Enable-PSSessionConfiguration') }
            @{ Case = 'Restart-Service fails'; Fails = 'Restart-Service'; Code = 12; Calls = @('Start-Sleep', 'Set-WSManQuickConfig', 'Enable-PSSessionConfiguration', 'Restart-Service') }
            @{ Case = 'the task cannot unregister itself'; Fails = 'Unregister-ScheduledTask'; Code = 13; Calls = @('Start-Sleep', 'Set-WSManQuickConfig', 'Enable-PSSessionConfiguration', 'Restart-Service', 'Unregister-ScheduledTask') }
        ) {
            Use-RemotingHost -Listeners @() -EndpointsEnabled $false | Out-Null
            Invoke-Remoting (New-RemotingRequest -Mode apply) | Out-Null
            $command = Get-RemotingTaskCommand -Call (Get-SeamCall -Name Register-WinScheduledTask)[0]
            # Functions named like the cmdlets win over them; each records its name, the one named in $Fails throws.
            $log = Join-Path -Path $TestDrive -ChildPath ('task-calls-' + $Code + '.txt')
            $fakes = foreach ($name in 'Start-Sleep', 'Set-WSManQuickConfig', 'Enable-PSSessionConfiguration', 'Restart-Service', 'Unregister-ScheduledTask') {
                "function $name { [System.IO.File]::AppendAllText('$log', '$name' + [Environment]::NewLine); if ('$name' -eq '$Fails') { throw '$name failed' } }"
            }
            $file = Join-Path -Path $TestDrive -ChildPath ('task-' + $Code + '.ps1')
            [System.IO.File]::WriteAllText($file, (($fakes -join "`r`n") + "`r`n" + $command))
            # The PowerShell running this test (powershell.exe, pwsh, or pwsh.dll under dotnet for a .NET tool install).
            $shell = (Get-Process -Id $PID).Path
            $hosted = @()
            if ([System.IO.Path]::GetFileNameWithoutExtension($shell) -eq 'dotnet') { $hosted = @([Environment]::GetCommandLineArgs()[0]) }
            & $shell @hosted -NoProfile -NonInteractive -ExecutionPolicy Bypass -File $file | Out-Null
            $LASTEXITCODE | Should -Be $Code
            @([System.IO.File]::ReadAllLines($log)) | Should -Be $Calls
        }

        It 'plan reports a task that <Case>, changes nothing; apply removes it and <Outcome>' -ForEach @(
            @{ Case = 'failed (exit code 10) on a server still not enabled'; State = 'Ready'; Result = 10; Listeners = @(); Outcome = 'fails as PowerShellError naming the exit code'; Ok = $false; Pattern = 'exit code 10 \(Set-WSManQuickConfig failed' }
            @{ Case = 'was never started, on a server still not enabled'; State = 'Ready'; Result = 267011; Listeners = @(); Outcome = 'schedules it again'; Ok = $true; Pattern = 'registered but never started' }
            @{ Case = 'failed only to unregister itself (exit code 13), on a server now enabled'; State = 'Ready'; Result = 13; Listeners = $null; Outcome = 'reports the server compliant'; Ok = $true; Pattern = 'could not unregister itself' }
            @{ Case = 'ended with an HRESULT'; State = 'Ready'; Result = 2147942405; Listeners = @(); Outcome = 'fails naming it'; Ok = $false; Pattern = 'exit code 0x80070005' }
        ) {
            if ($null -eq $Listeners) { $machine = Use-RemotingHost } else { $machine = Use-RemotingHost -Listeners $Listeners }
            Add-RemotingTask -Machine $machine -State $State -LastTaskResult $Result
            $plan = Invoke-Remoting (New-RemotingRequest -Mode plan)
            $plan.ok | Should -BeTrue
            ($plan.warnings -join ' ') | Should -Match $Pattern
            @(Get-Writes) | Should -BeNullOrEmpty
            @($machine.scheduledTasks).Count | Should -Be 1

            $apply = Invoke-Remoting (New-RemotingRequest -Mode apply)
            $apply.ok | Should -Be $Ok
            @(Get-Writes)[0].Name | Should -Be 'Unregister-WinScheduledTask'
            if ($Ok) {
                ($apply.warnings -join ' ') | Should -Match ($Pattern + '.*; removed')
            } else {
                $apply.error.code | Should -Be 'PowerShellError'
                $apply.error.message | Should -Match $Pattern
                $apply.error.message | Should -Match 'was removed'
                @($machine.scheduledTasks).Count | Should -Be 0
                Get-SeamCall -Name Register-WinScheduledTask | Should -BeNullOrEmpty
                # Removed, so an operator's retry schedules the change afresh.
                (Invoke-Remoting (New-RemotingRequest -Mode apply)).evidence.scheduledTask | Should -Be $script:TaskLabel
            }
        }

        It 'checks only Microsoft.PowerShell: 32-bit and workflow endpoints an administrator disabled are reported and left disabled' {
            $machine = Use-RemotingHost
            $machine.sessionConfiguration | Add-Member -NotePropertyName disabledByAdmin -NotePropertyValue ([object[]]@('microsoft.powershell.workflow', 'microsoft.powershell32')) -Force
            foreach ($mode in 'plan', 'apply') {
                $envelope = Invoke-Remoting (New-RemotingRequest -Mode $mode)
                $envelope.ok | Should -BeTrue
                $envelope.compliant | Should -BeTrue
                $envelope.changed | Should -BeFalse
                $envelope.before.endpointsEnabled | Should -BeTrue
                ($envelope.warnings -join ' ') | Should -Match 'left disabled, as an administrator chose \(Monosync connects to Microsoft.PowerShell only\): microsoft.powershell.workflow, microsoft.powershell32'
            }
            @(Get-Writes) | Should -BeNullOrEmpty
        }

        It 'is compliant with a listener it did not create (<Case>) and leaves it alone' -ForEach @(
            @{ Case = 'a GPO listener'; Transport = 'HTTP'; Port = 5985; Source = 'GPO' }
            @{ Case = 'a compatibility listener'; Transport = 'HTTP'; Port = 80; Source = 'Compatibility' }
            @{ Case = 'only an HTTPS listener'; Transport = 'HTTPS'; Port = 5986; Source = 'Local' }
        ) {
            Use-RemotingHost -Listeners @(New-LabListener -Transport $Transport -Port $Port -Source $Source) | Out-Null
            $envelope = Invoke-Remoting (New-RemotingRequest -Mode apply)
            $envelope.ok | Should -BeTrue
            $envelope.compliant | Should -BeTrue
            $envelope.before.listeners[0].transport | Should -Be $Transport
            $envelope.before.listeners[0].port | Should -Be $Port
            Get-Writes | Should -BeNullOrEmpty
        }

        It 'rollback to <Case> writes nothing' -ForEach @(
            @{ Case = 'Disabled (never written back: WinRM would not start after a reboot)'; StartType = 'Disabled'; Warning = 'Disabled is not restored' }
            @{ Case = 'the start type WinRM already has'; StartType = 'Automatic'; Warning = 'left running' }
        ) {
            $machine = Use-RemotingHost
            $state = [ordered]@{ serviceStatus = 'Stopped'; startType = $StartType; listeners = @(); endpointsEnabled = $false }
            $rollback = Invoke-Remoting (New-RemotingRequest -Mode rollback -RollbackTo $state)
            $rollback.ok | Should -BeTrue
            $rollback.changed | Should -BeFalse
            $rollback.compliant | Should -BeTrue
            ($rollback.warnings -join ' ') | Should -Match $Warning
            Get-Writes | Should -BeNullOrEmpty
            $machine.winrm.startType | Should -Be 'Automatic'
            $machine.winrm.status | Should -Be 'Running'
        }

        It 'reads the start type from Win32_Service where a ServiceController has none (.NET before 4.6.1)' {
            Use-RemotingHost -StartType 'Manual' | Out-Null
            Set-SeamFake -Name Get-WinService -ScriptBlock { param($Name) [pscustomobject]@{ Name = 'WinRM'; Status = 'Running' } }
            $envelope = Invoke-Remoting (New-RemotingRequest -Mode plan)
            $envelope.ok | Should -BeTrue
            $envelope.before.startType | Should -Be 'Manual'
            (Get-SeamCall -Name Get-WinCimService)[0].Parameters.Name | Should -Be 'WinRM'
            Set-SeamFake -Name Get-WinCimService -ScriptBlock { param($Name) [pscustomobject]@{ Name = 'WinRM'; StartMode = 'Auto' } }
            (Invoke-Remoting (New-RemotingRequest -Mode plan)).before.startType | Should -Be 'Automatic'
        }
    }

    Context 'Group Policy over WinRM: reported for an operator, never fought' {
        It 'stops <Mode> under <Case> as PolicyControlled, naming the policy and the fix, and writes nothing' -ForEach @(
            @{ Case = 'an empty IPv4 filter (gpo-winrm-ipv4-filter)'; Profile = 'gpo-winrm-ipv4-filter'; Mode = 'plan'; Like = '*Allow remote server management through WinRM'' sets an empty IPv4 filter (IPv6 filter ''*''): WinRM listens on no IPv4 address*Set that policy''s IPv4 filter to **' }
            @{ Case = 'an empty IPv4 filter (gpo-winrm-ipv4-filter)'; Profile = 'gpo-winrm-ipv4-filter'; Mode = 'apply'; Like = '*IPv4 filter*gpupdate /force*' }
            @{ Case = 'WinRM Disabled by System Services (gpo-winrm-service)'; Profile = 'gpo-winrm-service'; Mode = 'plan'; Like = '*''Security Settings > System Services'' (cn={31B2F340-*) sets the WinRM service''s start type to Disabled at every policy refresh*to Automatic in that policy*' }
            @{ Case = 'WinRM Disabled by System Services (gpo-winrm-service)'; Profile = 'gpo-winrm-service'; Mode = 'apply'; Like = '*start type to Disabled*' }
        ) {
            $machine = New-LabHost -Profile $Profile
            Use-LabSeam -Machine $machine
            $listeners = ConvertTo-Json -InputObject @($machine.listeners) -Depth 4 -Compress
            $envelope = Invoke-Remoting (New-RemotingRequest -Mode $Mode)
            $envelope.ok | Should -BeFalse
            $envelope.error.code | Should -Be 'PolicyControlled'
            $envelope.error.class | Should -Be 'policy'
            Get-FailureType -Code $envelope.error.code -Class $envelope.error.class | Should -Be 'PolicyControlled'
            $envelope.error.message | Should -BeLike $Like
            @(Get-Writes) | Should -BeNullOrEmpty
            ConvertTo-Json -InputObject @($machine.listeners) -Depth 4 -Compress | Should -Be $listeners
        }

        It 'goes on where the policy does not get in the way: <Case>' -ForEach @(
            @{ Case = 'an IPv4 filter of *'; Listener = @{ ipv4Filter = '*'; ipv6Filter = '' }; Service = $null }
            @{ Case = 'an IPv4 filter of ranges'; Listener = @{ ipv4Filter = '10.0.0.1-10.0.0.254'; ipv6Filter = '*' }; Service = $null }
            @{ Case = 'System Services sets WinRM Automatic'; Listener = $null; Service = @{ startType = 'Automatic'; gpo = 'cn={X}' } }
        ) {
            $machine = Use-RemotingHost
            if ($null -ne $Listener) { $machine | Add-Member -NotePropertyName winrmListenerPolicy -NotePropertyValue ([pscustomobject]$Listener) -Force }
            if ($null -ne $Service) { $machine | Add-Member -NotePropertyName winrmServicePolicy -NotePropertyValue ([pscustomobject]$Service) -Force }
            $envelope = Invoke-Remoting (New-RemotingRequest -Mode apply)
            $envelope.ok | Should -BeTrue
            $envelope.compliant | Should -BeTrue
        }

        It 'takes missing RSoP data (<Case>) for no System Services policy' -ForEach @(
            @{ Case = 'WBEM_E_INVALID_NAMESPACE'; Id = 'HRESULT 0x8004100e,Microsoft.Management.Infrastructure.CimCmdlets.GetCimInstanceCommand' }
            @{ Case = 'WBEM_E_INVALID_CLASS'; Id = 'HRESULT 0x80041010,Microsoft.Management.Infrastructure.CimCmdlets.GetCimInstanceCommand' }
        ) {
            Use-RemotingHost | Out-Null
            $record = New-CimError -ErrorId $Id -Message 'Invalid namespace ' -Category 'MetadataError'
            Set-SeamFake -Name Get-WinSystemServicePolicy -ScriptBlock { throw $record }.GetNewClosure()
            (Invoke-Remoting (New-RemotingRequest -Mode plan)).ok | Should -BeTrue
        }

        It 'does not take an unreadable RSoP (access denied) for no policy' {
            Use-RemotingHost | Out-Null
            $record = New-CimError -ErrorId 'HRESULT 0x80070005,Microsoft.Management.Infrastructure.CimCmdlets.GetCimInstanceCommand'
            Set-SeamFake -Name Get-WinSystemServicePolicy -ScriptBlock { throw $record }.GetNewClosure()
            $envelope = Invoke-Remoting (New-RemotingRequest -Mode plan)
            $envelope.ok | Should -BeFalse
            $envelope.error.code | Should -Be '5'
        }

        It 'rollback under the policy still restores only the saved start type (it does not read the policy)' {
            $machine = New-LabHost -Profile 'gpo-winrm-ipv4-filter'
            $machine.winrm.startType = 'Automatic'
            Use-LabSeam -Machine $machine
            $envelope = Invoke-Remoting (New-RemotingRequest -Mode rollback -RollbackTo ([ordered]@{ serviceStatus = 'Running'; startType = 'Manual'; listeners = @(); endpointsEnabled = $true }))
            $envelope.ok | Should -BeTrue
            $machine.winrm.startType | Should -Be 'Manual'
        }
    }

    Context 'one-element, empty and null collections' {
        It 'listeners with <Count> enabled listener(s) are a JSON array of <Count>' -ForEach @(
            @{ Count = 0; Pattern = '"listeners":\[\]' }
            @{ Count = 1; Pattern = '"listeners":\[\{"transport":"HTTP","port":5985\}\]' }
            @{ Count = 2; Pattern = '"listeners":\[\{"transport":"HTTP","port":5985\},\{"transport":"HTTPS","port":5986\}\]' }
        ) {
            $listeners = @(@(New-LabListener), @(New-LabListener -Transport HTTPS -Port 5986)) | Select-Object -First $Count
            Use-RemotingHost -Listeners @($listeners) | Out-Null
            $envelope = Invoke-Remoting (New-RemotingRequest -Mode plan)
            $envelope.ok | Should -BeTrue
            Get-LastLine | Should -Match ('"before":\{[^}]*' + $Pattern)
            @($envelope.before.listeners).Count | Should -Be $Count
        }

        It 'a listener enumeration that yields <Case> reads as no listener' -ForEach @(
            @{ Case = 'nothing'; Fake = { } }
            @{ Case = 'a null'; Fake = { $null } }
            @{ Case = 'a listener without Enabled (strict mode reads it safely)'; Fake = { [pscustomobject]@{ Transport = 'HTTP'; Port = '5985' } } }
        ) {
            Use-RemotingHost | Out-Null
            Set-SeamFake -Name Get-WinWsmanListener -ScriptBlock $Fake
            $envelope = Invoke-Remoting (New-RemotingRequest -Mode plan)
            $envelope.ok | Should -BeTrue
            Get-LastLine | Should -Match '"before":\{[^}]*"listeners":\[\]'
            $envelope.after.listeners[0].port | Should -Be 5985
        }

        It 'endpoints read as <Expected> when Get-PSSessionConfiguration yields <Case>' -ForEach @(
            @{ Case = 'nothing'; Expected = $false; Fake = { } }
            @{ Case = 'a null'; Expected = $false; Fake = { $null } }
            @{ Case = 'only other endpoints'; Expected = $false; Fake = { [pscustomobject]@{ Name = 'Exchange.Custom'; Enabled = 'true' }; [pscustomobject]@{ Name = 'microsoft.powershell32'; Enabled = 'true' } } }
            @{ Case = 'one enabled default endpoint'; Expected = $true; Fake = { [pscustomobject]@{ Name = 'microsoft.powershell'; Enabled = 'true' } } }
            @{ Case = 'one disabled default endpoint'; Expected = $false; Fake = { [pscustomobject]@{ Name = 'microsoft.powershell'; Enabled = 'false' } } }
            @{ Case = 'Microsoft.PowerShell enabled, the 32-bit one disabled (an admin''s choice)'; Expected = $true; Fake = { [pscustomobject]@{ Name = 'microsoft.powershell'; Enabled = 'true' }; [pscustomobject]@{ Name = 'microsoft.powershell32'; Enabled = 'false' } } }
            @{ Case = 'Microsoft.PowerShell disabled, the others enabled'; Expected = $false; Fake = { [pscustomobject]@{ Name = 'microsoft.powershell'; Enabled = 'false' }; [pscustomobject]@{ Name = 'microsoft.powershell.workflow'; Enabled = 'true' }; [pscustomobject]@{ Name = 'microsoft.powershell32'; Enabled = 'true' } } }
            @{ Case = 'Microsoft.PowerShell in another case'; Expected = $true; Fake = { [pscustomobject]@{ Name = 'Microsoft.PowerShell'; Enabled = 'true' } } }
            @{ Case = 'an endpoint without Enabled'; Expected = $false; Fake = { [pscustomobject]@{ Name = 'microsoft.powershell' } } }
        ) {
            Use-RemotingHost | Out-Null
            Set-SeamFake -Name Get-WinPSSessionConfiguration -ScriptBlock $Fake
            $envelope = Invoke-Remoting (New-RemotingRequest -Mode plan)
            $envelope.ok | Should -BeTrue
            $envelope.before.endpointsEnabled | Should -Be $Expected
        }

        It 'a rollbackTo.listeners of <Case> is taken' -ForEach @(
            @{ Case = 'none'; Json = '[]' }
            @{ Case = 'one'; Json = '[{"transport":"HTTP","port":5985}]' }
            @{ Case = 'two'; Json = '[{"transport":"HTTP","port":5985},{"transport":"HTTPS","port":5986}]' }
        ) {
            $machine = Use-RemotingHost
            $rollback = Invoke-Remoting -RequestJson ('{"mode":"rollback","params":{},"rollbackTo":{"serviceStatus":"Running","startType":"Manual","listeners":' + $Json + ',"endpointsEnabled":true}}')
            $rollback.ok | Should -BeTrue
            $machine.winrm.startType | Should -Be 'Manual'
        }

        It 'a one-element warnings list is a JSON array' {
            Use-RemotingHost -Status 'Stopped' | Out-Null
            Invoke-Remoting (New-RemotingRequest -Mode plan) | Out-Null
            Get-LastLine | Should -Match '"warnings":\["WinRM is not running[^"]*"\]'
        }
    }

    Context 'a rollback never acts without the saved state' {
        It 'refuses rollbackTo <Case> with InvalidInput, before touching the machine' -ForEach @(
            @{ Case = 'missing from the request'; Json = '{"mode":"rollback","params":{}}' }
            @{ Case = 'null'; Json = '{"mode":"rollback","params":{},"rollbackTo":null}' }
            @{ Case = '{}'; Json = '{"mode":"rollback","params":{},"rollbackTo":{}}' }
            @{ Case = 'without listeners'; Json = '{"mode":"rollback","params":{},"rollbackTo":{"serviceStatus":"Running","startType":"Manual","endpointsEnabled":true}}' }
            @{ Case = 'with listeners null'; Json = '{"mode":"rollback","params":{},"rollbackTo":{"serviceStatus":"Running","startType":"Manual","listeners":null,"endpointsEnabled":true}}' }
            @{ Case = 'with listeners an object'; Json = '{"mode":"rollback","params":{},"rollbackTo":{"serviceStatus":"Running","startType":"Manual","listeners":{"transport":"HTTP","port":5985},"endpointsEnabled":true}}' }
            @{ Case = 'with listeners holding a null'; Json = '{"mode":"rollback","params":{},"rollbackTo":{"serviceStatus":"Running","startType":"Manual","listeners":[null],"endpointsEnabled":true}}' }
            @{ Case = 'with listeners holding a string'; Json = '{"mode":"rollback","params":{},"rollbackTo":{"serviceStatus":"Running","startType":"Manual","listeners":["HTTP"],"endpointsEnabled":true}}' }
            @{ Case = 'with a listener port as text'; Json = '{"mode":"rollback","params":{},"rollbackTo":{"serviceStatus":"Running","startType":"Manual","listeners":[{"transport":"HTTP","port":"5985"}],"endpointsEnabled":true}}' }
            @{ Case = 'with a listener port out of range'; Json = '{"mode":"rollback","params":{},"rollbackTo":{"serviceStatus":"Running","startType":"Manual","listeners":[{"transport":"HTTP","port":0}],"endpointsEnabled":true}}' }
            @{ Case = 'with a transport WinRM does not have'; Json = '{"mode":"rollback","params":{},"rollbackTo":{"serviceStatus":"Running","startType":"Manual","listeners":[{"transport":"http","port":5985}],"endpointsEnabled":true}}' }
            @{ Case = 'without endpointsEnabled'; Json = '{"mode":"rollback","params":{},"rollbackTo":{"serviceStatus":"Running","startType":"Manual","listeners":[]}}' }
            @{ Case = 'with endpointsEnabled as text'; Json = '{"mode":"rollback","params":{},"rollbackTo":{"serviceStatus":"Running","startType":"Manual","listeners":[],"endpointsEnabled":"true"}}' }
            @{ Case = 'without startType'; Json = '{"mode":"rollback","params":{},"rollbackTo":{"serviceStatus":"Running","listeners":[],"endpointsEnabled":true}}' }
            @{ Case = 'with startType null'; Json = '{"mode":"rollback","params":{},"rollbackTo":{"serviceStatus":"Running","startType":null,"listeners":[],"endpointsEnabled":true}}' }
            @{ Case = 'with startType as a one-element array'; Json = '{"mode":"rollback","params":{},"rollbackTo":{"serviceStatus":"Running","startType":["Manual"],"listeners":[],"endpointsEnabled":true}}' }
            @{ Case = 'with startType empty'; Json = '{"mode":"rollback","params":{},"rollbackTo":{"serviceStatus":"Running","startType":"","listeners":[],"endpointsEnabled":true}}' }
            @{ Case = 'with startType in another spelling'; Json = '{"mode":"rollback","params":{},"rollbackTo":{"serviceStatus":"Running","startType":"manual","listeners":[],"endpointsEnabled":true}}' }
            @{ Case = 'with startType Boot'; Json = '{"mode":"rollback","params":{},"rollbackTo":{"serviceStatus":"Running","startType":"Boot","listeners":[],"endpointsEnabled":true}}' }
            @{ Case = 'with a zero-width space in startType'; Json = '{"mode":"rollback","params":{},"rollbackTo":{"serviceStatus":"Running","startType":"Manual\u200b","listeners":[],"endpointsEnabled":true}}' }
            @{ Case = 'with a serviceStatus Windows does not report'; Json = '{"mode":"rollback","params":{},"rollbackTo":{"serviceStatus":"Up","startType":"Manual","listeners":[],"endpointsEnabled":true}}' }
            @{ Case = 'as an array of the state'; Json = '{"mode":"rollback","params":{},"rollbackTo":[{"serviceStatus":"Running","startType":"Manual","listeners":[],"endpointsEnabled":true}]}' }
            @{ Case = 'as an empty array'; Json = '{"mode":"rollback","params":{},"rollbackTo":[]}' }
            @{ Case = 'as the bare start type'; Json = '{"mode":"rollback","params":{},"rollbackTo":"Manual"}' }
        ) {
            $machine = Use-RemotingHost
            $envelope = Invoke-Remoting -RequestJson $Json
            $envelope.ok | Should -BeFalse
            $envelope.mode | Should -Be 'rollback'
            $envelope.error.code | Should -Be 'InvalidInput'
            Get-FailureType -Code $envelope.error.code -Class $envelope.error.class | Should -Be 'InvalidInput'
            Get-SeamCall -Name Get-WinService | Should -BeNullOrEmpty
            Get-Writes | Should -BeNullOrEmpty
            $machine.winrm.startType | Should -Be 'Automatic'
        }

        It 'refuses a rollback by hand without -RollbackToJson, and takes a complete one' {
            $machine = Use-RemotingHost
            $path = Save-StepScript -Name 'Enable-Remoting' -Path (Join-Path -Path $TestDrive -ChildPath 'Enable-Remoting.ps1') -StrictMode $true
            (ConvertFrom-StepEnvelope -Script 'Enable-Remoting' -Output @(& $path -Mode rollback)).error.code | Should -Be 'InvalidInput'
            (ConvertFrom-StepEnvelope -Script 'Enable-Remoting' -Output @(& $path -Mode rollback -RollbackToJson '[{"serviceStatus":"Running","startType":"Manual","listeners":[],"endpointsEnabled":true}]')).error.code | Should -Be 'InvalidInput'
            (ConvertFrom-StepEnvelope -Script 'Enable-Remoting' -Output @(& $path -Mode rollback -RollbackToJson 'Manual')).error.code | Should -Be 'InvalidInput'
            Get-Writes | Should -BeNullOrEmpty
            $good = ConvertFrom-StepEnvelope -Script 'Enable-Remoting' -Output @(& $path -Mode rollback -RollbackToJson '{"serviceStatus":"Running","startType":"Manual","listeners":[],"endpointsEnabled":true}')
            $good.ok | Should -BeTrue
            $good.after.startType | Should -Be 'Manual'
            $machine.winrm.startType | Should -Be 'Manual'
            (ConvertFrom-StepEnvelope -Script 'Enable-Remoting' -Output @(& $path -Mode plan)).changed | Should -BeTrue
        }
    }

    Context 'the script''s own validation refuses every hostile value' {
        It 'refuses <Field> <Shown> (from test/powershell-injection.test.ts)' -ForEach @(
            # Discovery runs before BeforeAll: the values come from node here too (cached for the run).
            Import-Module -Name (Join-Path -Path $PSScriptRoot -ChildPath '../../test/powershell/SeamTestKit.psm1')
            foreach ($hostile in Get-HostileValue) {
                foreach ($value in @($hostile, "Manual$hostile", "${hostile}Manual")) {
                    $shown = ConvertTo-Json -InputObject $value -Compress
                    foreach ($field in 'rollbackTo.startType', 'rollbackTo.serviceStatus', 'rollbackTo.listeners[0].transport', 'mode', 'a params value', 'a params name') {
                        @{ Field = $field; Value = $value; Shown = $shown }
                    }
                }
            }
        ) {
            $machine = Use-RemotingHost -StartType 'Automatic'
            $state = [ordered]@{ serviceStatus = 'Running'; startType = 'Manual'; listeners = @([ordered]@{ transport = 'HTTP'; port = 5985 }); endpointsEnabled = $true }
            $request = New-RemotingRequest -Mode rollback -RollbackTo $state
            switch ($Field) {
                'rollbackTo.startType' { $state.startType = $Value }
                'rollbackTo.serviceStatus' { $state.serviceStatus = $Value }
                'rollbackTo.listeners[0].transport' { $state.listeners[0].transport = $Value }
                'mode' { $request.mode = $Value }
                'a params value' { $request.params = @{ Mode = $Value } }
                'a params name' { $request.params = @{ $Value = 'x' } }
            }
            $envelope = Invoke-Remoting $request
            $envelope.ok | Should -BeFalse
            $envelope.error.code | Should -Be 'InvalidInput'
            Get-SeamCall -Name Get-WinService | Should -BeNullOrEmpty
            Get-Writes | Should -BeNullOrEmpty
            $machine.winrm.startType | Should -Be 'Automatic'
        }

        It 'refuses a request whose <Case>' -ForEach @(
            @{ Case = 'params are missing'; Json = '{"mode":"apply","rollbackTo":null}' }
            @{ Case = 'params are null'; Json = '{"mode":"apply","params":null,"rollbackTo":null}' }
            @{ Case = 'params are an empty array'; Json = '{"mode":"apply","params":[],"rollbackTo":null}' }
            @{ Case = 'params are a one-element array'; Json = '{"mode":"apply","params":[{}],"rollbackTo":null}' }
            @{ Case = 'params are a string'; Json = '{"mode":"apply","params":"{}","rollbackTo":null}' }
            @{ Case = 'params hold a parameter the step does not take'; Json = '{"mode":"apply","params":{"Force":true},"rollbackTo":null}' }
            @{ Case = 'params hold a null parameter'; Json = '{"mode":"apply","params":{"Force":null},"rollbackTo":null}' }
            @{ Case = 'mode is missing'; Json = '{"params":{},"rollbackTo":null}' }
            @{ Case = 'mode is unknown'; Json = '{"mode":"destroy","params":{},"rollbackTo":null}' }
            @{ Case = 'mode has a zero-width space'; Json = '{"mode":"apply\u200b","params":{},"rollbackTo":null}' }
            @{ Case = 'mode is a one-element array'; Json = '{"mode":["apply"],"params":{},"rollbackTo":null}' }
            @{ Case = 'document is an array'; Json = '[{"mode":"apply","params":{},"rollbackTo":null}]' }
            @{ Case = 'document is not JSON'; Json = 'mode=apply' }
        ) {
            $machine = Use-RemotingHost -StartType 'Manual'
            $envelope = Invoke-Remoting -RequestJson $Json
            $envelope.ok | Should -BeFalse
            $envelope.error.code | Should -Be 'InvalidInput'
            Get-Writes | Should -BeNullOrEmpty
            $machine.winrm.startType | Should -Be 'Manual'
        }

        It 'refuses a hostile -Mode given by hand at parameter binding, before any of its code runs' {
            Use-RemotingHost | Out-Null
            $path = Save-StepScript -Name 'Enable-Remoting' -Path (Join-Path -Path $TestDrive -ChildPath 'Enable-Remoting-bind.ps1')
            $thrown = $null
            try { & $path -Mode "apply'; Remove-Item C:\ -Recurse; '" } catch { $thrown = $_ }
            $thrown.FullyQualifiedErrorId | Should -BeLike 'ParameterArgumentValidationError*'
            Get-SeamCall | Should -BeNullOrEmpty
        }
    }

    Context 'errors as Windows produces them' {
        It '<Case> -> <Type>' -ForEach @(
            @{ Case = 'Set-Service not elevated (CouldNotSetService, Win32Exception 5)'; Seam = 'Set-WinServiceStartType'; Mode = 'apply'; StartType = 'Manual'; Status = 'Running'; Type = 'AccessDenied'; Code = '5'
                Throw = { New-ServiceError -Kind SetAccessDenied } }
            @{ Case = 'Set-Service not elevated, in a rollback'; Seam = 'Set-WinServiceStartType'; Mode = 'rollback'; StartType = 'Automatic'; Status = 'Running'; Type = 'AccessDenied'; Code = '5'
                Throw = { New-ServiceError -Kind SetAccessDenied } }
            @{ Case = 'Start-Service not elevated (Cannot open WinRM service, Win32Exception 5 inside)'; Seam = 'Start-WinService'; Mode = 'apply'; StartType = 'Automatic'; Status = 'Stopped'; Type = 'AccessDenied'; Code = '5'
                Throw = { New-ServiceError -Kind StartAccessDenied } }
            @{ Case = 'Start-Service: the HTTP service WinRM depends on failed (1068)'; Seam = 'Start-WinService'; Mode = 'apply'; StartType = 'Automatic'; Status = 'Stopped'; Type = 'PowerShellError'; Code = '1068'
                Throw = { New-ServiceError -Kind StartDependency } }
            @{ Case = 'Start-Service: disabled again between the two calls (a GPO, 1058)'; Seam = 'Start-WinService'; Mode = 'apply'; StartType = 'Manual'; Status = 'Stopped'; Type = 'PowerShellError'; Code = '1058'
                Throw = { New-ServiceError -Kind StartDisabled } }
            @{ Case = 'Get-PSSessionConfiguration not elevated (EDcsRequiresElevation)'; Seam = 'Get-WinPSSessionConfiguration'; Mode = 'plan'; StartType = 'Automatic'; Status = 'Running'; Type = 'AccessDenied'; Code = '5'
                Throw = { New-ElevationError -Command GetPSSessionConfigurationCommand } }
            @{ Case = 'Get-WSManInstance: WinRM not answering while it restarts (fault 0x80338012)'; Seam = 'Get-WinWsmanListener'; Mode = 'plan'; StartType = 'Automatic'; Status = 'Running'; Type = 'WinRMUnavailable'; Code = '0x80338012'
                Throw = { New-WsmanFaultError -Code 2150858770 -Message $WinText.WinRMCannotConnect -Command 'Microsoft.WSMan.Management.GetWSManInstanceCommand' -Machine 'localhost' } }
            @{ Case = 'Get-WSManInstance refused by WinRM (fault Code 5)'; Seam = 'Get-WinWsmanListener'; Mode = 'plan'; StartType = 'Automatic'; Status = 'Running'; Type = 'AccessDenied'; Code = '5'
                Throw = { New-WsmanFaultError -Code 5 -Message $WinText.AccessDenied -Command 'Microsoft.WSMan.Management.GetWSManInstanceCommand' -Machine 'localhost' } }
            @{ Case = 'Get-CimInstance Win32_Service access denied (HRESULT 0x80070005)'; Seam = 'Get-WinCimService'; Mode = 'plan'; StartType = 'NoStartType'; Status = 'Running'; Type = 'AccessDenied'; Code = '5'
                Throw = { New-CimError -ErrorId 'HRESULT 0x80070005,Microsoft.Management.Infrastructure.CimCmdlets.GetCimInstanceCommand' } }
        ) {
            $machine = $null
            if ($StartType -eq 'NoStartType') {
                $machine = Use-RemotingHost -Status $Status
                Set-SeamFake -Name Get-WinService -ScriptBlock { param($Name) [pscustomobject]@{ Name = 'WinRM'; Status = 'Running' } }
            } else {
                $machine = Use-RemotingHost -Status $Status -StartType $StartType
            }
            $record = & $Throw
            Set-SeamFake -Name $Seam -ScriptBlock { throw $record }.GetNewClosure()
            $envelope = Invoke-Remoting (New-RemotingRequest -Mode $Mode -RollbackTo ([ordered]@{ serviceStatus = 'Running'; startType = 'Manual'; listeners = @(); endpointsEnabled = $true }))
            $envelope.ok | Should -BeFalse
            $envelope.mode | Should -Be $Mode
            $envelope.changed | Should -BeFalse
            $envelope.error.code | Should -Be $Code
            Get-FailureType -Code $envelope.error.code -Class $envelope.error.class | Should -Be $Type
            Get-SeamCall -Name Register-WinScheduledTask | Should -BeNullOrEmpty
        }

        It 'Register-ScheduledTask not elevated (CimException 0x80070005) -> AccessDenied, nothing started' {
            Use-RemotingHost -Listeners @() | Out-Null
            $record = New-CimError -ErrorId 'HRESULT 0x80070005,Register-ScheduledTask'
            Set-SeamFake -Name Register-WinScheduledTask -ScriptBlock { throw $record }.GetNewClosure()
            $envelope = Invoke-Remoting (New-RemotingRequest -Mode apply)
            $envelope.ok | Should -BeFalse
            $envelope.error.code | Should -Be '5'
            Get-FailureType -Code $envelope.error.code -Class $envelope.error.class | Should -Be 'AccessDenied'
            Get-SeamCall -Name Start-WinScheduledTask | Should -BeNullOrEmpty
        }
    }

    It 'prints only envelopes that match domain/envelope.ts and the step''s state schema (zod, via node)' {
        Assert-StepEnvelopeContract | Should -BeGreaterThan 100
    }
}
