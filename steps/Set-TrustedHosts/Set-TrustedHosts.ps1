<#
.SYNOPSIS
    Adds entries to the WinRM client's TrustedHosts list without dropping the ones already there
    (step 3.5).
.DESCRIPTION
    TrustedHosts is a client setting: it matters only on the machine that opens connections. The step adds
    only its own entries and never drops anybody else's: entries are merged case-insensitively in their
    existing order; '*' replaces the whole list, and a list that is already '*' covers every entry. The full
    value is written with Set-Item -Force (appending to or with '*' throws). Apply and rollback hold the named
    system mutex Global\Monosync-TrustedHosts from the read to the write, so parallel runs on one machine (one
    per Exchange server when the list is the Monosync worker's) cannot lose each other's entries; a run that
    waits longer than 30 seconds fails as a Timeout and is retried. A Group Policy owns the list when WinRM
    reports its source as GPO or the policy key HKLM:\SOFTWARE\Policies\Microsoft\Windows\WinRM\Client sets
    TrustedHosts; plan, apply and rollback then fail with PolicyControlled whenever the list would have to change.
.PARAMETER Mode
    plan, apply or rollback. Rollback removes only this step's own entries (those of -Entries the saved
    state did not hold), keeping every entry added since by anyone else; when the step had replaced the list
    with '*' and it is still '*', it writes back the saved list. It needs the saved state and -Entries.
.PARAMETER Entries
    Host names, IP addresses, '*.domain' patterns or '*'.
.PARAMETER RequestBase64
    Base64 of UTF-8 JSON {mode, params, rollbackTo}; how the Monosync worker passes values.
.PARAMETER RollbackToJson
    For rollback by hand: the earlier 'before' state as JSON, {"value":"a.corp.example","policyControlled":false},
    with the -Entries the apply added.
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

# One mutex per machine for every writer of TrustedHosts (see powershell/MonosyncCommon.ps1, seam: Set-TrustedHosts).
$MutexName = 'Global\Monosync-TrustedHosts'
$MutexTimeoutMs = 30000
$PolicyName = "the Group Policy 'Windows Remote Management (WinRM) > WinRM Client > Trusted Hosts' ($PolicyKey)"

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

function Split-TrustedHosts {
    # The entries of a TrustedHosts value, trimmed, in their order.
    param([string]$Value)
    $list = New-Object -TypeName 'System.Collections.Generic.List[string]'
    foreach ($entry in ($Value -split ',')) { if ($entry.Trim()) { $list.Add($entry.Trim()) } }
    return , [string[]]$list.ToArray()
}

function Get-RollbackValue {
    # The list without this step's own entries: those of $Entries the saved list did not hold (ordinal,
    # case-insensitive). Entries anybody added since stay. When the step had replaced the list with '*' (the
    # saved list had no '*') and it is still exactly '*', the saved list comes back whole.
    param([string]$Current, [string]$Saved, [string[]]$Entries)
    $savedList = Split-TrustedHosts -Value $Saved
    $currentList = Split-TrustedHosts -Value $Current
    $own = New-Object -TypeName 'System.Collections.Generic.List[string]'
    foreach ($entry in $Entries) {
        if ($null -eq (Find-OrdinalMatch -Set $savedList -Value $entry -IgnoreCase)) { $own.Add($entry) }
    }
    # A saved '*' already covered every entry: the apply wrote nothing.
    if ($null -ne (Find-OrdinalMatch -Set $savedList -Value '*')) { return $Current }
    if ($null -ne (Find-OrdinalMatch -Set $own.ToArray() -Value '*') -and $currentList.Count -eq 1 -and $currentList[0] -ceq '*') { return $Saved }
    $keep = New-Object -TypeName 'System.Collections.Generic.List[string]'
    foreach ($entry in $currentList) {
        if ($null -eq (Find-OrdinalMatch -Set $own.ToArray() -Value $entry -IgnoreCase)) { $keep.Add($entry) }
    }
    if ($keep.Count -eq $currentList.Count) { return $Current }
    return ($keep -join ',')
}

function Enter-TrustedHostsLock {
    # Takes the machine's TrustedHosts mutex, or fails as a transient Timeout (the worker retries).
    $mutex = New-WinNamedMutex -Name $MutexName
    $taken = $false
    try {
        $taken = [bool](Wait-WinMutex -Mutex $mutex -TimeoutMs $MutexTimeoutMs)
    } catch [System.Threading.AbandonedMutexException] {
        # Its last holder died holding it: the mutex is ours now, and the list is read afresh below.
        $taken = $true
        $script:Warnings.Add('the previous holder of the TrustedHosts lock ended without releasing it; the list was read again before the change')
    } catch {
        Close-WinMutex -Mutex $mutex
        throw
    }
    if (-not $taken) {
        Close-WinMutex -Mutex $mutex
        throw (New-StepError -Code 'Timeout' -Class 'transient' -Message "another run held the TrustedHosts lock ($MutexName) for more than $($MutexTimeoutMs / 1000) seconds; retried")
    }
    return $mutex
}

function Exit-TrustedHostsLock {
    param($Mutex)
    if ($null -eq $Mutex) { return }
    try { Exit-WinMutex -Mutex $Mutex } finally { Close-WinMutex -Mutex $Mutex }
}

try {
    $step = Read-StepRequest -Encoded $RequestBase64 -Mode $Mode -RollbackToJson $RollbackToJson
    $Mode = $step.Mode
    $RollbackTo = $step.RollbackTo
    $params = Get-MonosyncRequestParams -Step $step -Names @('Entries')
    # Assigning re-runs the parameter's Validate* attributes: a bad value throws InvalidInput here.
    if ($null -ne $params) { $Entries = Get-RequestStringList -Object $params -Name 'Entries' }
    # Rollback needs them too: they say which entries are this step's own.
    if ($null -eq $Entries -or @($Entries).Count -eq 0) { throw (New-InvalidInput -Message 'Entries needs at least one entry') }
    if ($Mode -eq 'rollback') {
        # Never act without the saved state: it says which of the entries were there before this step.
        Assert-RollbackState -State $RollbackTo -Script $script:ScriptName -Strings @('value') -Booleans @('policyControlled')
        if ([string]$RollbackTo.value -cnotmatch $SavedValuePattern) { throw (New-InvalidInput -Message 'rollbackTo.value is not a TrustedHosts list') }
    }

    # Plan only reads; apply and rollback hold the lock from their read to their write.
    $lock = $null
    if ($Mode -ne 'plan') { $lock = Enter-TrustedHostsLock }
    try {
        $before = Get-TrustedHostsState
        if ($Mode -eq 'rollback') {
            $want = Get-RollbackValue -Current $before.value -Saved ([string]$RollbackTo.value) -Entries $Entries
        } else {
            $want = Merge-TrustedHosts -Current $before.value -Add $Entries
            if ($want -eq '*') { $script:Warnings.Add("TrustedHosts '*' skips the server identity check for NTLM to every host, for every user of this machine") }
        }
        $compliant = [string]::Equals($before.value, $want, [System.StringComparison]::Ordinal)
        if (-not $compliant -and $before.policyControlled) {
            throw (New-StepError -Code 'PolicyControlled' -Class 'policy' -Message "TrustedHosts is set by $PolicyName`: a local change would be reverted at the next refresh. Add the entries to that policy, or set it to Not Configured, then retry")
        }
        if ($compliant -or $Mode -eq 'plan') {
            Write-StepResult -StepMode $Mode -Compliant $compliant -Changed (-not $compliant) -Before $before -After ([ordered]@{ value = $want; policyControlled = $before.policyControlled })
            return
        }
        Set-WinWsmanItem -Path $SettingPath -Value $want
        Write-StepResult -StepMode $Mode -Compliant $false -Changed $true -Before $before -After (Get-TrustedHostsState)
    } finally {
        Exit-TrustedHostsLock -Mutex $lock
    }
} catch {
    Write-StepFailure -Record $_ -StepMode $Mode
}
