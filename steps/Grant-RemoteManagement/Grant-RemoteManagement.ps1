<#
.SYNOPSIS
    Puts the Monosync service account into the local Remote Management Users group (step 1).
.DESCRIPTION
    Addresses the group by its well-known SID S-1-5-32-580 (the name is localized) and checks
    membership by the member's SID. Also reports whether the Microsoft.PowerShell endpoint admits the
    group and carries no NETWORK deny; an endpoint ACL is a customer hardening decision, so it is only
    reported, never changed. A Group Policy 'Restricted Groups' entry for the group sets its whole membership
    and puts it back at every refresh (read from the RSoP data, RSOP_RestrictedGroup): when it does not list
    the account, adding it would be undone, so plan and apply fail with PolicyControlled naming the GPO and the
    fix (and a rollback that would remove an account the policy lists fails the same way).
    Prints one JSON document (monosync.onboard.step/v1).
.PARAMETER Mode
    plan: read and predict. apply: add the member if missing. rollback: restore the membership the
    saved state (-RollbackToJson, the 'before' of the earlier apply) recorded; refused without it.
.PARAMETER Member
    The account as DOMAIN\user or user@dns.domain.
.PARAMETER RequestBase64
    Base64 of UTF-8 JSON {mode, params, rollbackTo}; how the Monosync worker passes values.
.PARAMETER RollbackToJson
    For rollback by hand: the earlier 'before' state as JSON,
    {"member":false,"groupName":"Remote Management Users","endpointAllowsGroup":true,"networkDenied":false}.
.EXAMPLE
    .\Grant-RemoteManagement.ps1 -Mode plan -Member 'CORP\monosync_svc'
#>
[CmdletBinding()]
param(
    [Parameter(Position = 0)]
    [string]$RequestBase64,
    [ValidateSet('plan', 'apply', 'rollback')]
    [string]$Mode = 'plan',
    # The accounts accountSchema (domain/validators.ts) accepts: DOMAIN\user or user@dns.domain, a user name of
    # 1-20 characters not ending in '.'. (?-i): ValidatePattern ignores case by default, and then [A-Za-z] also
    # matches the Kelvin sign U+212A. \z, not $: '$' also matches before a trailing newline.
    [ValidatePattern('(?-i)^(?:[A-Za-z0-9][A-Za-z0-9-]{0,14}\\[A-Za-z0-9](?:[A-Za-z0-9._-]{0,18}[A-Za-z0-9_-])?|[A-Za-z0-9](?:[A-Za-z0-9._-]{0,18}[A-Za-z0-9_-])?@(?=[A-Za-z0-9.-]{1,253}\z)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)\z')]
    [string]$Member,
    [string]$RollbackToJson
)

#monosync-common: the helpers of powershell/MonosyncCommon.ps1 go here (fleet script <step> writes the whole script)

$script:ScriptName = 'Grant-RemoteManagement'
$script:Target = Get-LocalFqdn
$RemoteManagementUsersSid = 'S-1-5-32-580'
$EndpointName = 'Microsoft.PowerShell'
$RootSddlPath = 'WSMan:\localhost\Service\RootSDDL'
# A saved groupName: the group's name in any language (letters, digits, spaces, '.', '-', '_'), as this script
# reports it or, as earlier versions did, behind its domain ('BUILTIN\Remote Management Users').
$SavedGroupNamePattern = '^(?:[\p{L}\p{M}\p{N}_.-]{1,64}\\)?[\p{L}\p{M}\p{N}_. -]{1,256}\z'
$script:EndpointEnabled = $true

function Get-EndpointAccess {
    # Whether the Microsoft.PowerShell endpoint admits Remote Management Users (an allow and no deny for the
    # group) and denies NETWORK logons (what Disable-PSRemoting leaves). An endpoint without an ACL of its
    # own uses WinRM's RootSDDL.
    $endpoint = $null
    foreach ($candidate in @(Get-WinPSSessionConfiguration)) {
        $name = $candidate.PSObject.Properties['Name']
        if ($null -ne $name -and [string]::Equals([string]$name.Value, $EndpointName, [System.StringComparison]::OrdinalIgnoreCase)) { $endpoint = $candidate }
    }
    if ($null -eq $endpoint) {
        throw (New-StepError -Code 'EndpointMissing' -Class 'precondition' -Message "the $EndpointName endpoint is not registered: run the Enable-Remoting step")
    }
    $enabled = $endpoint.PSObject.Properties['Enabled']
    $script:EndpointEnabled = ($null -ne $enabled -and [string]$enabled.Value -eq 'true')
    $sddl = ''
    $own = $endpoint.PSObject.Properties['SecurityDescriptorSddl']
    if ($null -ne $own) { $sddl = [string]$own.Value }
    if (-not $sddl) { $sddl = [string](Get-WinWsmanItem -Path $RootSddlPath).Value }
    return (Get-RemoteManagementAccess -Sddl $sddl)
}

function Get-RemoteManagementState {
    param([string]$MemberSid)
    $account = [string](Resolve-WinSidAccount -Sid $RemoteManagementUsersSid)
    # The group's own name, without its localized domain (BUILTIN, VORDEFINIERT, ...).
    $groupName = $account.Substring($account.IndexOf('\') + 1)
    $members = Get-WinLocalGroupMemberSid -GroupName $groupName
    $isMember = ($null -ne (Find-OrdinalMatch -Set $members -Value $MemberSid -IgnoreCase))
    $access = Get-EndpointAccess
    return [ordered]@{ member = $isMember; groupName = $groupName; endpointAllowsGroup = $access.AllowsGroup; networkDenied = $access.NetworkDenied }
}

function Get-RestrictedGroupsEntry {
    # The Restricted Groups entry (precedence 1) that sets the members of this group, or $null. An entry that
    # only makes the group a member of others ('This group is a member of') sets no members.
    param([string]$GroupName)
    foreach ($entry in (Get-WinningRsopEntry -Read { Get-WinRestrictedGroupPolicy })) {
        $name = [string]$entry.GroupName
        $short = $name.Substring($name.IndexOf('\') + 1)
        $isGroup = ([string]::Equals($name.TrimStart('*'), $RemoteManagementUsersSid, [System.StringComparison]::OrdinalIgnoreCase) -or [string]::Equals($short, $GroupName, [System.StringComparison]::OrdinalIgnoreCase))
        if (-not $isGroup) { continue }
        $members = $entry.PSObject.Properties['Members']
        $memberOf = $entry.PSObject.Properties['MemberOf']
        $setsNoMembers = ($null -eq $members -or $null -eq $members.Value -or @($members.Value).Count -eq 0)
        if ($setsNoMembers -and $null -ne $memberOf -and $null -ne $memberOf.Value -and @($memberOf.Value).Count -gt 0) { continue }
        return $entry
    }
    return $null
}

function Test-PolicyListsMember {
    # Whether a Restricted Groups entry's Members hold the account, by SID ('*S-1-5-21-...') or by name.
    param($Entry, [string]$MemberSid, [string]$MemberName)
    $members = $Entry.PSObject.Properties['Members']
    if ($null -eq $members) { return $false }
    foreach ($listed in @($members.Value)) {
        $text = ([string]$listed).TrimStart('*')
        if ([string]::Equals($text, $MemberSid, [System.StringComparison]::OrdinalIgnoreCase) -or [string]::Equals($text, $MemberName, [System.StringComparison]::OrdinalIgnoreCase)) { return $true }
    }
    return $false
}

function Assert-NotRestrictedGroups {
    # A change the Restricted Groups policy would undo at its next refresh is not made: the operator changes the GPO.
    param([string]$GroupName, [string]$MemberSid, [bool]$WantMember)
    $entry = Get-RestrictedGroupsEntry -GroupName $GroupName
    if ($null -eq $entry) { return }
    $memberName = [string](Resolve-WinSidAccount -Sid $MemberSid)
    $listed = Test-PolicyListsMember -Entry $entry -MemberSid $MemberSid -MemberName $memberName
    if ($listed -eq $WantMember) { return }
    $gpo = ''
    $gpoId = $entry.PSObject.Properties['GPOID']
    if ($null -ne $gpoId -and $gpoId.Value) { $gpo = " ($($gpoId.Value))" }
    $script:Evidence['restrictedGroupsGpo'] = ([string]$gpo).Trim(' ()')
    if ($WantMember) {
        throw (New-StepError -Code 'PolicyControlled' -Class 'policy' -Message "the members of $GroupName are set by the Group Policy 'Restricted Groups'$gpo, which does not list ${memberName}: a member added here is removed at the next policy refresh. Add $memberName to that Restricted Groups entry (or use Group Policy Preferences 'Local Users and Groups' with Update), then retry")
    }
    throw (New-StepError -Code 'PolicyControlled' -Class 'policy' -Message "the members of $GroupName are set by the Group Policy 'Restricted Groups'$gpo, which lists ${memberName}: removing it here is undone at the next policy refresh. Remove $memberName from that entry, then retry")
}

function Test-ErrorIs {
    # Whether a record is the given LocalAccounts error (by FQID) or carries the given HRESULT anywhere in its
    # exception chain (ADSI: MethodInvocationException around the COMException).
    param($Record, [string]$ErrorId, [long]$HResult)
    if (([string]$Record.FullyQualifiedErrorId).StartsWith($ErrorId + ',', [System.StringComparison]::Ordinal)) { return $true }
    for ($exception = $Record.Exception; $null -ne $exception; $exception = $exception.InnerException) {
        if ([long]$exception.HResult -eq $HResult) { return $true }
    }
    return $false
}

function Set-Membership {
    param([string]$GroupName, [string]$MemberSid, [bool]$Present)
    try {
        if ($Present) {
            if ($null -ne (Get-WinCommand -Name 'Add-LocalGroupMember')) { Add-WinLocalGroupMember -GroupSid $RemoteManagementUsersSid -MemberSid $MemberSid }
            else { Add-WinAdsiGroupMember -GroupName $GroupName -MemberSid $MemberSid }
        } else {
            if ($null -ne (Get-WinCommand -Name 'Remove-LocalGroupMember')) { Remove-WinLocalGroupMember -GroupSid $RemoteManagementUsersSid -MemberSid $MemberSid }
            else { Remove-WinAdsiGroupMember -GroupName $GroupName -MemberSid $MemberSid }
        }
    } catch {
        # Added or removed between check and change (a parallel run, a GPO refresh): the goal is reached.
        # ERROR_MEMBER_IN_ALIAS 0x80070562 = -2147023518, ERROR_MEMBER_NOT_IN_ALIAS 0x80070561 = -2147023519.
        if ($Present -and (Test-ErrorIs -Record $_ -ErrorId 'MemberExists' -HResult -2147023518)) { return }
        if (-not $Present -and (Test-ErrorIs -Record $_ -ErrorId 'MemberNotFound' -HResult -2147023519)) { return }
        throw
    }
}

try {
    $step = Read-StepRequest -Encoded $RequestBase64 -Mode $Mode -RollbackToJson $RollbackToJson
    $Mode = $step.Mode
    $RollbackTo = $step.RollbackTo
    $params = Get-MonosyncRequestParams -Step $step -Names @('Member')
    # Assigning re-runs the parameter's ValidatePattern: a bad value throws InvalidInput here.
    if ($null -ne $params) { $Member = Get-RequestString -Object $params -Name 'Member' -Required }
    if (-not $Member) { throw (New-InvalidInput -Message 'Member is required') }
    if ($Mode -eq 'rollback') {
        # Never act without the saved state: without it, rollback would remove the account.
        Assert-RollbackState -State $RollbackTo -Script $script:ScriptName -Strings @('groupName') -Booleans @('member', 'endpointAllowsGroup', 'networkDenied')
        if ([string]$RollbackTo.groupName -cnotmatch $SavedGroupNamePattern) { throw (New-InvalidInput -Message 'rollbackTo.groupName is not the name of a local group') }
    }

    $computer = Get-WinComputerSystem
    if ([int]$computer.DomainRole -ge 4) {
        throw (New-StepError -Code 'DomainController' -Class 'precondition' -Message 'this server is a domain controller: Remote Management Users is the domain-wide BUILTIN group here; change it deliberately, not from onboarding')
    }
    try {
        $memberSid = [string](Resolve-WinAccountSid -Name $Member)
    } catch {
        # Outside a domain (an Edge Transport server) no domain account resolves: the step does not apply.
        if ((Get-StepErrorInfo -Record $_).code -eq 'PrincipalNotFound' -and -not [bool]$computer.PartOfDomain) {
            throw (New-StepError -Code 'PrincipalNotFound' -Class 'precondition' -Message "this server is in no domain (an Edge Transport server?), so $Member cannot be resolved: grant the access by hand")
        }
        throw
    }
    $script:Evidence['memberSid'] = $memberSid
    $script:Evidence['groupSid'] = $RemoteManagementUsersSid
    $before = Get-RemoteManagementState -MemberSid $memberSid
    if (-not $script:EndpointEnabled) { $script:Warnings.Add('the Microsoft.PowerShell endpoint is disabled: run the Enable-Remoting step') }
    if (-not $before.endpointAllowsGroup) { $script:Warnings.Add('the Microsoft.PowerShell endpoint ACL does not admit Remote Management Users; fix the endpoint by hand (customer decision)') }
    if ($before.networkDenied) { $script:Warnings.Add('the Microsoft.PowerShell endpoint denies NETWORK logons (Disable-PSRemoting); run the Enable-Remoting step') }

    $wantMember = $true
    if ($Mode -eq 'rollback') { $wantMember = [bool]$RollbackTo.member }
    $compliant = ($before.member -eq $wantMember)
    if ($Mode -ne 'rollback') { $compliant = $compliant -and $before.endpointAllowsGroup -and -not $before.networkDenied }
    $needsChange = ($before.member -ne $wantMember)
    if ($needsChange) { Assert-NotRestrictedGroups -GroupName $before.groupName -MemberSid $memberSid -WantMember $wantMember }

    if ($Mode -eq 'plan' -or -not $needsChange) {
        $predicted = [ordered]@{}
        foreach ($key in $before.Keys) { $predicted[$key] = $before[$key] }
        $predicted['member'] = $wantMember
        Write-StepResult -StepMode $Mode -Compliant $compliant -Changed $needsChange -Before $before -After $predicted
        return
    }
    Set-Membership -GroupName $before.groupName -MemberSid $memberSid -Present $wantMember
    $after = Get-RemoteManagementState -MemberSid $memberSid
    Write-StepResult -StepMode $Mode -Compliant $compliant -Changed $true -Before $before -After $after
} catch {
    Write-StepFailure -Record $_ -StepMode $Mode
}
