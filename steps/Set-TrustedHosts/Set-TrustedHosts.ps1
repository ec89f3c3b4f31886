<#
.SYNOPSIS
    Adds entries to the WinRM client's TrustedHosts list without dropping the ones already there
    (step 3.5).
.DESCRIPTION
    TrustedHosts is a client setting: it matters only on the machine that opens connections. Entries
    are merged case-insensitively in their existing order; '*' replaces the whole list, and a list that
    is already '*' covers every entry. The full value is written with Set-Item -Force (appending to or
    with '*' throws). A Group Policy under HKLM:\SOFTWARE\Policies\Microsoft\Windows\WinRM\Client owns
    the list when it sets TrustedHosts; apply then fails with PolicyControlled.
.PARAMETER Mode
    plan, apply or rollback (rollback writes back the exact earlier value).
.PARAMETER Entries
    Host names, IP addresses, '*.domain' patterns or '*'.
.PARAMETER RequestBase64
    Base64 of UTF-8 JSON {mode, params, rollbackTo}; how the Monosync worker passes values.
.PARAMETER RollbackToJson
    For rollback by hand: the earlier 'before' state as JSON.
.EXAMPLE
    .\Set-TrustedHosts.ps1 -Mode plan -Entries 'exch01.corp.example','exch02.corp.example'
#>
[CmdletBinding()]
param(
    [Parameter(Position = 0)]
    [string]$RequestBase64,
    [ValidateSet('plan', 'apply', 'rollback')]
    [string]$Mode = 'plan',
    [ValidatePattern('^(?:\*|<local>|(?:\*\.)?[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|[0-9A-Fa-f:.]{2,45})$')]
    [string[]]$Entries,
    [string]$RollbackToJson
)

#monosync-common: the helpers of powershell/MonosyncCommon.ps1 go here (fleet script <step> writes the whole script)

$script:ScriptName = 'Set-TrustedHosts'
$script:Target = Get-LocalFqdn
$SettingPath = 'WSMan:\localhost\Client\TrustedHosts'
$PolicyPath = 'HKLM:\SOFTWARE\Policies\Microsoft\Windows\WinRM\Client'

function Get-TrustedHostsState {
    $policy = Get-ItemProperty -Path $PolicyPath -ErrorAction SilentlyContinue
    $controlled = ($null -ne $policy -and ($null -ne $policy.PSObject.Properties['TrustedHosts'] -or $null -ne $policy.PSObject.Properties['TrustedHostsList']))
    return [ordered]@{ value = [string](Get-Item -Path $SettingPath).Value; policyControlled = $controlled }
}

function Merge-TrustedHosts {
    param([string]$Current, [string[]]$Add)
    $list = New-Object -TypeName 'System.Collections.Generic.List[string]'
    foreach ($entry in ($Current -split ',')) { if ($entry.Trim()) { $list.Add($entry.Trim()) } }
    if ($list -contains '*') { return '*' }
    if ($Add -contains '*') { return '*' }
    foreach ($entry in $Add) {
        # -contains compares case-insensitively and literally, so a '*.domain' entry is not a wildcard here.
        if ($list -notcontains $entry) { $list.Add($entry) }
    }
    return ($list -join ',')
}

try {
    $RollbackTo = $null
    if ($RequestBase64) {
        $request = Read-MonosyncRequest -Encoded $RequestBase64
        $Mode = [string]$request.mode
        $Entries = [string[]]@($request.params.Entries)
        $RollbackTo = $request.rollbackTo
    } elseif ($RollbackToJson) {
        $RollbackTo = ConvertFrom-Json -InputObject $RollbackToJson
    }

    $before = Get-TrustedHostsState
    if ($Mode -eq 'rollback') {
        $want = [string]$RollbackTo.value
    } else {
        if (@($Entries).Count -eq 0) { throw (New-StepError -Code 'InvalidInput' -Class 'permanent' -Message 'Entries needs at least one entry') }
        $want = Merge-TrustedHosts -Current $before.value -Add $Entries
        if ($want -eq '*') { $script:Warnings.Add("TrustedHosts '*' skips the server identity check for NTLM to every host, for every user of this machine") }
    }
    $compliant = ($before.value -eq $want)
    if ($compliant -or $Mode -eq 'plan') {
        if (-not $compliant -and $before.policyControlled) { $script:Warnings.Add('a Group Policy sets TrustedHosts; apply will fail until the GPO changes') }
        Write-StepResult -StepMode $Mode -Compliant $compliant -Changed (-not $compliant) -Before $before -After ([ordered]@{ value = $want; policyControlled = $before.policyControlled })
        return
    }
    if ($before.policyControlled) {
        throw (New-StepError -Code 'PolicyControlled' -Class 'policy' -Message "TrustedHosts is set by Group Policy ($PolicyPath); change the GPO or set it to Not Configured")
    }
    Set-Item -Path $SettingPath -Value $want -Force
    Write-StepResult -StepMode $Mode -Compliant $false -Changed $true -Before $before -After (Get-TrustedHostsState)
} catch {
    Write-StepFailure -Record $_ -StepMode $Mode
}
