<#
.SYNOPSIS
    Creates or corrects the inbound firewall rule that admits WinRM from the Monosync servers (step 4).
.DESCRIPTION
    One named rule (Monosync-WinRM-In): inbound, allow, TCP, the given local ports, the given remote
    addresses. Windows has no built-in rule for 5986. Warns when a Group Policy stops local rules from
    applying. Network firewalls between the sites are outside this host: that is an operator ticket.
.PARAMETER Mode
    plan, apply or rollback (rollback restores the earlier rule or removes the one this step created).
.PARAMETER RuleName
    Always Monosync-WinRM-In.
.PARAMETER Ports
    5985 and/or 5986.
.PARAMETER RemoteAddresses
    Source IP addresses, or 'Any'.
.PARAMETER RequestBase64
    Base64 of UTF-8 JSON {mode, params, rollbackTo}; how the Monosync worker passes values.
.PARAMETER RollbackToJson
    For rollback by hand: the earlier 'before' state as JSON.
.EXAMPLE
    .\Set-MonosyncFirewallRule.ps1 -Mode plan -RuleName Monosync-WinRM-In -Ports 5986 -RemoteAddresses 10.0.0.5
#>
[CmdletBinding()]
param(
    [Parameter(Position = 0)]
    [string]$RequestBase64,
    [ValidateSet('plan', 'apply', 'rollback')]
    [string]$Mode = 'plan',
    [ValidateSet('Monosync-WinRM-In')]
    [string]$RuleName = 'Monosync-WinRM-In',
    [ValidateSet(5985, 5986)]
    [int[]]$Ports,
    [ValidatePattern('^(?:Any|[0-9]{1,3}(?:\.[0-9]{1,3}){3}|[0-9A-Fa-f:]{2,39})$')]
    [string[]]$RemoteAddresses,
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

$script:ScriptName = 'Set-MonosyncFirewallRule'
$script:Target = Get-LocalFqdn

function Get-FirewallState {
    $rule = Get-NetFirewallRule -Name $RuleName -ErrorAction SilentlyContinue
    if ($null -eq $rule) { return [ordered]@{ rule = $null } }
    $ports = @(($rule | Get-NetFirewallPortFilter).LocalPort | ForEach-Object { $n = 0; if ([int]::TryParse([string]$_, [ref]$n)) { $n } })
    $addresses = [string[]]@(($rule | Get-NetFirewallAddressFilter).RemoteAddress | ForEach-Object { [string]$_ })
    if ([string]$rule.Direction -ne 'Inbound' -or [string]$rule.Action -ne 'Allow') {
        $script:Warnings.Add("rule $RuleName is not an inbound allow rule; apply corrects it")
    }
    return [ordered]@{ rule = [ordered]@{
            name            = [string]$rule.Name
            enabled         = ([string]$rule.Enabled -eq 'True')
            localPorts      = [int[]]@($ports | Sort-Object)
            remoteAddresses = $addresses
        }
    }
}

function Test-SameSet {
    param([object[]]$Left, [object[]]$Right)
    $a = @($Left | ForEach-Object { ([string]$_).ToLowerInvariant() } | Sort-Object -Unique)
    $b = @($Right | ForEach-Object { ([string]$_).ToLowerInvariant() } | Sort-Object -Unique)
    return (($a -join ',') -eq ($b -join ','))
}

function Test-RuleMatches {
    param($State, [bool]$Enabled, [int[]]$WantPorts, [string[]]$WantAddresses)
    if ($null -eq $State.rule) { return $false }
    return ($State.rule.enabled -eq $Enabled -and (Test-SameSet -Left $State.rule.localPorts -Right $WantPorts) -and (Test-SameSet -Left $State.rule.remoteAddresses -Right $WantAddresses))
}

function Set-Rule {
    param([bool]$Enabled, [int[]]$WantPorts, [string[]]$WantAddresses)
    $enabledText = 'False'
    if ($Enabled) { $enabledText = 'True' }
    $localPorts = [string[]]@($WantPorts | ForEach-Object { [string]$_ })
    if ($null -eq (Get-NetFirewallRule -Name $RuleName -ErrorAction SilentlyContinue)) {
        New-NetFirewallRule -Name $RuleName -DisplayName $RuleName -Description 'WinRM from the Monosync servers (managed by Monosync onboarding)' `
            -Direction Inbound -Action Allow -Protocol TCP -LocalPort $localPorts -RemoteAddress $WantAddresses -Profile Any -Enabled $enabledText | Out-Null
    } else {
        Set-NetFirewallRule -Name $RuleName -Direction Inbound -Action Allow -Protocol TCP -LocalPort $localPorts -RemoteAddress $WantAddresses -Enabled $enabledText
    }
}

try {
    $RollbackTo = $null
    if ($RequestBase64) {
        $request = Read-MonosyncRequest -Encoded $RequestBase64
        $Mode = [string]$request.mode
        $RuleName = [string]$request.params.RuleName
        $Ports = [int[]]@($request.params.Ports)
        $RemoteAddresses = [string[]]@($request.params.RemoteAddresses)
        $RollbackTo = $request.rollbackTo
    } elseif ($RollbackToJson) {
        $RollbackTo = ConvertFrom-Json -InputObject $RollbackToJson
    }

    foreach ($fwProfile in @(Get-NetFirewallProfile -PolicyStore ActiveStore)) {
        if ([string]$fwProfile.AllowLocalFirewallRules -eq 'False') { $script:Warnings.Add("Group Policy ignores local firewall rules on the $($fwProfile.Name) profile: add the rule to the GPO") }
    }
    $before = Get-FirewallState

    if ($Mode -eq 'rollback') {
        $old = $RollbackTo.rule
        $changed = $false
        if ($null -eq $old) {
            if ($null -ne $before.rule) { Remove-NetFirewallRule -Name $RuleName; $changed = $true }
        } elseif (-not (Test-RuleMatches -State $before -Enabled ([bool]$old.enabled) -WantPorts @($old.localPorts) -WantAddresses @($old.remoteAddresses))) {
            Set-Rule -Enabled ([bool]$old.enabled) -WantPorts @($old.localPorts) -WantAddresses @($old.remoteAddresses)
            $changed = $true
        }
        Write-StepResult -StepMode $Mode -Compliant (-not $changed) -Changed $changed -Before $before -After (Get-FirewallState)
        return
    }

    if (@($Ports).Count -eq 0 -or @($RemoteAddresses).Count -eq 0) { throw (New-StepError -Code 'InvalidInput' -Class 'permanent' -Message 'Ports and RemoteAddresses are required') }
    $compliant = Test-RuleMatches -State $before -Enabled $true -WantPorts $Ports -WantAddresses $RemoteAddresses
    if ($compliant -or $Mode -eq 'plan') {
        $predicted = [ordered]@{ rule = [ordered]@{ name = $RuleName; enabled = $true; localPorts = [int[]]@($Ports | Sort-Object -Unique); remoteAddresses = [string[]]$RemoteAddresses } }
        if ($compliant) { $predicted = $before }
        Write-StepResult -StepMode $Mode -Compliant $compliant -Changed (-not $compliant) -Before $before -After $predicted
        return
    }
    Set-Rule -Enabled $true -WantPorts $Ports -WantAddresses $RemoteAddresses
    Write-StepResult -StepMode $Mode -Compliant $false -Changed $true -Before $before -After (Get-FirewallState)
} catch {
    Write-StepFailure -Record $_ -StepMode $Mode
}
