<#
.SYNOPSIS
    Adds entries to the WinRM client's TrustedHosts list without dropping the ones already there
    (step 3.5).
.DESCRIPTION
    TrustedHosts is a client setting: it matters only on the machine that opens connections. Entries
    are merged case-insensitively in their existing order; '*' replaces the whole list, and a list that
    is already '*' covers every entry. The full value is written with Set-Item -Force (appending to or
    with '*' throws). A Group Policy owns the list when WinRM reports its source as GPO or the policy key
    HKLM:\SOFTWARE\Policies\Microsoft\Windows\WinRM\Client sets TrustedHosts; plan, apply and rollback then
    fail with PolicyControlled whenever the list would have to change.
.PARAMETER Mode
    plan, apply or rollback (rollback writes back the exact earlier value and needs that saved state).
.PARAMETER Entries
    Host names, IP addresses, '*.domain' patterns or '*'.
.PARAMETER RequestBase64
    Base64 of UTF-8 JSON {mode, params, rollbackTo}; how the Monosync worker passes values.
.PARAMETER RollbackToJson
    For rollback by hand: the earlier 'before' state as JSON, {"value":"a.corp.example","policyControlled":false}.
.EXAMPLE
    .\Set-TrustedHosts.ps1 -Mode plan -Entries 'exch01.corp.example','exch02.corp.example'
#>
[CmdletBinding()]
param(
    [Parameter(Position = 0)]
    [string]$RequestBase64,
    [ValidateSet('plan', 'apply', 'rollback')]
    [string]$Mode = 'plan',
    # \z, not $: '$' also matches before a trailing newline, which would let 'host' + LF through.
    [ValidatePattern('^(?:\*|<local>|(?:\*\.)?[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|[0-9A-Fa-f:.]{2,45})\z')]
    [string[]]$Entries,
    [string]$RollbackToJson
)

#monosync-common: the helpers of powershell/MonosyncCommon.ps1 go here (fleet script <step> writes the whole script)

$script:ScriptName = 'Set-TrustedHosts'
$script:Target = Get-LocalFqdn
$SettingPath = 'WSMan:\localhost\Client\TrustedHosts'
$PolicyKey = 'HKEY_LOCAL_MACHINE\SOFTWARE\Policies\Microsoft\Windows\WinRM\Client'
# What a saved TrustedHosts value (what rollback writes back) can hold: names, addresses and patterns
# (192.168.1.*, <local>, [fe80::1%3]) separated by commas and spaces; never quotes or control characters.
$SavedValuePattern = '^[A-Za-z0-9.*:_<>\[\]%, -]*\z'

function Get-TrustedHostsState {
    $item = Get-WinWsmanItem -Path $SettingPath
    $source = $item.PSObject.Properties['SourceOfValue']
    $fromGpo = ($null -ne $source -and [string]$source.Value -eq 'GPO')
    $enabled = Get-WinRegistryValue -Key $PolicyKey -Name 'TrustedHosts'
    $list = Get-WinRegistryValue -Key $PolicyKey -Name 'TrustedHostsList'
    return [ordered]@{ value = [string]$item.Value; policyControlled = ($fromGpo -or $null -ne $enabled -or $null -ne $list) }
}

function Merge-TrustedHosts {
    param([string]$Current, [string[]]$Add)
    $list = New-Object -TypeName 'System.Collections.Generic.List[string]'
    foreach ($entry in ($Current -split ',')) { if ($entry.Trim()) { $list.Add($entry.Trim()) } }
    if ($null -ne (Find-OrdinalMatch -Set $list.ToArray() -Value '*')) { return '*' }
    if ($null -ne (Find-OrdinalMatch -Set $Add -Value '*')) { return '*' }
    foreach ($entry in $Add) {
        # Ordinal, case-insensitive and literal: a '*.domain' entry is not a wildcard here.
        if ($null -eq (Find-OrdinalMatch -Set $list.ToArray() -Value $entry -IgnoreCase)) { $list.Add($entry) }
    }
    return ($list -join ',')
}

try {
    $RollbackTo = $null
    if ($RequestBase64) {
        $request = Read-MonosyncRequest -Encoded $RequestBase64
        # Assigning re-runs the parameters' Validate* attributes: a bad value throws InvalidInput here.
        $Mode = Get-RequestString -Object $request -Name 'mode'
        $Entries = Get-RequestStringList -Object (Get-RequestMember -Object $request -Name 'params') -Name 'Entries'
        $RollbackTo = Get-RequestMember -Object $request -Name 'rollbackTo'
    } elseif ($RollbackToJson) {
        $RollbackTo = ConvertFrom-RollbackJson -Json $RollbackToJson
    }
    # Refused: reported as plan (the envelope carries only a valid mode).
    try { $Mode = Resolve-StepMode -Mode $Mode } catch { $Mode = 'plan'; throw }
    # The worker always sends Entries; by hand, a rollback needs only the saved state.
    if (@($Entries).Count -eq 0 -and ($RequestBase64 -or $Mode -ne 'rollback')) {
        throw (New-InvalidInput -Message 'Entries needs at least one entry')
    }

    if ($Mode -eq 'rollback') {
        # Never act without the saved state: rollback writes back exactly the value recorded before apply
        # (an empty list included); without it, it would write '' and drop everybody's entries.
        Assert-RollbackState -State $RollbackTo -Script $script:ScriptName -Strings @('value') -Booleans @('policyControlled')
        $want = [string]$RollbackTo.value
        if ($want -cnotmatch $SavedValuePattern) { throw (New-InvalidInput -Message 'rollbackTo.value is not a TrustedHosts list') }
        $before = Get-TrustedHostsState
    } else {
        $before = Get-TrustedHostsState
        $want = Merge-TrustedHosts -Current $before.value -Add $Entries
        if ($want -eq '*') { $script:Warnings.Add("TrustedHosts '*' skips the server identity check for NTLM to every host, for every user of this machine") }
    }
    $compliant = [string]::Equals($before.value, $want, [System.StringComparison]::Ordinal)
    if (-not $compliant -and $before.policyControlled) {
        throw (New-StepError -Code 'PolicyControlled' -Class 'policy' -Message "TrustedHosts is set by Group Policy ($PolicyKey); change the GPO or set it to Not Configured")
    }
    if ($compliant -or $Mode -eq 'plan') {
        Write-StepResult -StepMode $Mode -Compliant $compliant -Changed (-not $compliant) -Before $before -After ([ordered]@{ value = $want; policyControlled = $before.policyControlled })
        return
    }
    Set-WinWsmanItem -Path $SettingPath -Value $want
    Write-StepResult -StepMode $Mode -Compliant $false -Changed $true -Before $before -After (Get-TrustedHostsState)
} catch {
    Write-StepFailure -Record $_ -StepMode $Mode
}
