<#
.SYNOPSIS
    Sets the WinRM service's channel-binding hardening level (step 3.4).
.DESCRIPTION
    Reads and writes WSMan:\localhost\Service\Auth\CbtHardeningLevel. A Group Policy owns the setting
    when WinRM reports its source as GPO or the policy key HKLM:\SOFTWARE\Policies\Microsoft\Windows\WinRM\Service
    holds CbtHardeningLevel; a local change would be reverted, so plan, apply and rollback then fail with
    PolicyControlled whenever the level would have to change. Note the default, Relaxed, already admits
    clients that send no token; None also disables NTLM-relay protection on HTTPS.
.PARAMETER Mode
    plan, apply or rollback (rollback writes back the exact earlier level and needs that saved state).
.PARAMETER Level
    None, Relaxed or Strict, spelled exactly so.
.PARAMETER RequestBase64
    Base64 of UTF-8 JSON {mode, params, rollbackTo}; how the Monosync worker passes values.
.PARAMETER RollbackToJson
    For rollback by hand: the earlier 'before' state as JSON, {"level":"Relaxed","policyControlled":false}.
.EXAMPLE
    .\Set-CbtHardening.ps1 -Mode plan -Level Relaxed
#>
[CmdletBinding()]
param(
    [Parameter(Position = 0)]
    [string]$RequestBase64,
    [ValidateSet('plan', 'apply', 'rollback')]
    [string]$Mode = 'plan',
    [ValidateSet('None', 'Relaxed', 'Strict', IgnoreCase = $false)]
    [string]$Level,
    [string]$RollbackToJson
)

#monosync-common: the helpers of powershell/MonosyncCommon.ps1 go here (fleet script <step> writes the whole script)

$script:ScriptName = 'Set-CbtHardening'
$script:Target = Get-LocalFqdn
$SettingPath = 'WSMan:\localhost\Service\Auth\CbtHardeningLevel'
$PolicyKey = 'HKEY_LOCAL_MACHINE\SOFTWARE\Policies\Microsoft\Windows\WinRM\Service'
$Levels = @('None', 'Relaxed', 'Strict')

function Get-CbtState {
    $item = Get-WinWsmanItem -Path $SettingPath
    $source = $item.PSObject.Properties['SourceOfValue']
    $fromGpo = ($null -ne $source -and [string]$source.Value -eq 'GPO')
    $policyLevel = Get-WinRegistryValue -Key $PolicyKey -Name 'CbtHardeningLevel'
    return [ordered]@{ level = [string]$item.Value; policyControlled = ($fromGpo -or $null -ne $policyLevel) }
}

try {
    $step = Read-StepRequest -Encoded $RequestBase64 -Mode $Mode -RollbackToJson $RollbackToJson
    $Mode = $step.Mode
    $RollbackTo = $step.RollbackTo
    $params = Get-MonosyncRequestParams -Step $step -Names @('Level')
    # Assigning re-runs the parameter's ValidateSet: a bad value throws InvalidInput here.
    if ($null -ne $params) { $Level = Get-RequestString -Object $params -Name 'Level' }

    if ($Mode -eq 'rollback') {
        # Never act without the saved state: rollback writes back exactly the level recorded before apply.
        Assert-RollbackState -State $RollbackTo -Script $script:ScriptName -Strings @('level') -Booleans @('policyControlled')
        # The level as Windows reported it (any spelling WinRM accepts); an absent or unknown one cannot be written back.
        $want = [string]$RollbackTo.level
        if ($null -eq (Find-OrdinalMatch -Set $Levels -Value $want -IgnoreCase)) { throw (New-InvalidInput -Message 'rollbackTo.level must be a level WinRM accepts: None, Relaxed or Strict') }
    } else {
        if (-not $Level) { throw (New-InvalidInput -Message 'Level is required') }
        # ValidateSet compares with the culture, which lets 'Relaxed' + NUL through: check ordinally too.
        if ($null -eq (Find-OrdinalMatch -Set $Levels -Value $Level)) { throw (New-InvalidInput -Message 'Level must be None, Relaxed or Strict') }
        $want = $Level
    }

    $before = Get-CbtState
    # Exact (ordinal) comparison, as the contract's values are: a level spelled otherwise is rewritten canonically.
    $compliant = [string]::Equals($before.level, $want, [System.StringComparison]::Ordinal)
    if (-not $compliant -and $before.policyControlled) {
        throw (New-StepError -Code 'PolicyControlled' -Class 'policy' -Message "CbtHardeningLevel is set to '$($before.level)' by the Group Policy 'Windows Remote Management (WinRM) > WinRM Service > Specify channel binding token hardening level' ($PolicyKey): a local change would be reverted at the next refresh. Set that policy to $want, or to Not Configured, then retry")
    }
    if ($compliant -or $Mode -eq 'plan') {
        Write-StepResult -StepMode $Mode -Compliant $compliant -Changed (-not $compliant) -Before $before -After ([ordered]@{ level = $want; policyControlled = $before.policyControlled })
        return
    }
    Set-WinWsmanItem -Path $SettingPath -Value $want
    Write-StepResult -StepMode $Mode -Compliant $false -Changed $true -Before $before -After (Get-CbtState)
} catch {
    Write-StepFailure -Record $_ -StepMode $Mode
}
