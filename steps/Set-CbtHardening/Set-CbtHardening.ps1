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

#monosync-common: the helpers of powershell/MonosyncCommon.ps1 go here (fleet script <step> writes the whole script)

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
