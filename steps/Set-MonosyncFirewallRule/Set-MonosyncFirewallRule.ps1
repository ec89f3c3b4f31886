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

#monosync-common: the helpers of powershell/MonosyncCommon.ps1 go here (fleet script <step> writes the whole script)

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
