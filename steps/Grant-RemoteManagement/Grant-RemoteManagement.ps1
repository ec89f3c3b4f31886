<#
.SYNOPSIS
    Puts the Monosync service account into the local Remote Management Users group (step 1).
.DESCRIPTION
    Addresses the group by its well-known SID S-1-5-32-580 (the name is localized) and checks
    membership by the member's SID. Also reports whether the Microsoft.PowerShell endpoint admits the
    group and carries no NETWORK deny; an endpoint ACL is a customer hardening decision, so it is only
    reported, never changed. Prints one JSON document (monosync.onboard.step/v1).
.PARAMETER Mode
    plan: read and predict. apply: add the member if missing. rollback: remove the member if the
    state to restore (-RollbackToJson) had it absent.
.PARAMETER Member
    The account as DOMAIN\user or user@dns.domain.
.PARAMETER RequestBase64
    Base64 of UTF-8 JSON {mode, params, rollbackTo}; how the Monosync worker passes values.
.PARAMETER RollbackToJson
    For rollback by hand: the earlier 'before' state as JSON.
.EXAMPLE
    .\Grant-RemoteManagement.ps1 -Mode plan -Member 'CORP\monosync_svc'
#>
[CmdletBinding()]
param(
    [Parameter(Position = 0)]
    [string]$RequestBase64,
    [ValidateSet('plan', 'apply', 'rollback')]
    [string]$Mode = 'plan',
    [ValidatePattern('^(?:[A-Za-z0-9][A-Za-z0-9-]{0,14}\\[A-Za-z0-9][A-Za-z0-9._-]{0,19}|[A-Za-z0-9][A-Za-z0-9._-]{0,19}@[A-Za-z0-9.-]{1,253})$')]
    [string]$Member,
    [string]$RollbackToJson
)

#monosync-common: the helpers of powershell/MonosyncCommon.ps1 go here (fleet script <step> writes the whole script)

$script:ScriptName = 'Grant-RemoteManagement'
$script:Target = Get-LocalFqdn
$RemoteManagementUsersSid = 'S-1-5-32-580'
$NetworkSid = 'S-1-5-2'

function Get-GroupMemberSids {
    param([string]$GroupName)
    # ADSI rather than Get-LocalGroupMember: that cmdlet throws on orphaned SIDs and is missing on 2012 R2.
    $group = [ADSI]('WinNT://{0}/{1},group' -f $env:COMPUTERNAME, $GroupName)
    $sids = @()
    foreach ($entry in @($group.Invoke('Members'))) {
        $bytes = $entry.GetType().InvokeMember('objectSid', 'GetProperty', $null, $entry, $null)
        $sids += (New-Object -TypeName System.Security.Principal.SecurityIdentifier -ArgumentList $bytes, 0).Value
    }
    return $sids
}

function Get-RemoteManagementState {
    param([string]$MemberSid)
    $groupSid = New-Object -TypeName System.Security.Principal.SecurityIdentifier -ArgumentList $RemoteManagementUsersSid
    $groupName = $groupSid.Translate([System.Security.Principal.NTAccount]).Value
    $shortName = $groupName.Substring($groupName.IndexOf('\') + 1)
    $isMember = @(Get-GroupMemberSids -GroupName $shortName) -contains $MemberSid

    $endpoint = Get-PSSessionConfiguration -Name 'Microsoft.PowerShell'
    $descriptor = New-Object -TypeName System.Security.AccessControl.CommonSecurityDescriptor -ArgumentList $false, $false, ([string]$endpoint.SecurityDescriptorSddl)
    $allows = $false
    $networkDenied = $false
    foreach ($ace in $descriptor.DiscretionaryAcl) {
        $sid = $ace.SecurityIdentifier.Value
        if ($sid -eq $RemoteManagementUsersSid -and [string]$ace.AceQualifier -eq 'AccessAllowed') { $allows = $true }
        if ($sid -eq $NetworkSid -and [string]$ace.AceQualifier -eq 'AccessDenied') { $networkDenied = $true }
    }
    if ([string]$endpoint.Enabled -ne 'True') { $script:Warnings.Add('the Microsoft.PowerShell endpoint is disabled: run the Enable-Remoting step') }
    return [ordered]@{ member = $isMember; groupName = $groupName; endpointAllowsGroup = $allows; networkDenied = $networkDenied }
}

function Copy-State {
    param($State, [bool]$IsMember)
    $copy = [ordered]@{}
    foreach ($key in $State.Keys) { $copy[$key] = $State[$key] }
    $copy['member'] = $IsMember
    return $copy
}

try {
    $RollbackTo = $null
    if ($RequestBase64) {
        $request = Read-MonosyncRequest -Encoded $RequestBase64
        $Mode = [string]$request.mode
        $Member = [string]$request.params.Member
        $RollbackTo = $request.rollbackTo
    } elseif ($RollbackToJson) {
        $RollbackTo = ConvertFrom-Json -InputObject $RollbackToJson
    }
    if (-not $Member) { throw (New-StepError -Code 'InvalidInput' -Class 'permanent' -Message 'Member is required') }

    $computer = Get-CimInstance -ClassName Win32_ComputerSystem
    if ([int]$computer.DomainRole -ge 4) {
        throw (New-StepError -Code 'DomainController' -Class 'precondition' -Message 'this server is a domain controller: Remote Management Users is the domain-wide BUILTIN group here; change it deliberately, not from onboarding')
    }

    $memberSid = (New-Object -TypeName System.Security.Principal.NTAccount -ArgumentList $Member).Translate([System.Security.Principal.SecurityIdentifier]).Value
    $script:Evidence['memberSid'] = $memberSid
    $before = Get-RemoteManagementState -MemberSid $memberSid
    if (-not $before.endpointAllowsGroup) { $script:Warnings.Add('the Microsoft.PowerShell endpoint ACL does not admit Remote Management Users; fix the endpoint by hand (customer decision)') }
    if ($before.networkDenied) { $script:Warnings.Add('the Microsoft.PowerShell endpoint denies NETWORK logons (Disable-PSRemoting); run the Enable-Remoting step') }

    $wantMember = $true
    if ($Mode -eq 'rollback') { $wantMember = [bool]$RollbackTo.member }
    $compliant = ($before.member -eq $wantMember)
    if ($Mode -ne 'rollback') { $compliant = $compliant -and $before.endpointAllowsGroup -and -not $before.networkDenied }
    $needsChange = ($before.member -ne $wantMember)

    if ($Mode -eq 'plan' -or -not $needsChange) {
        $predicted = Copy-State -State $before -IsMember $wantMember
        if ($Mode -ne 'plan') { $predicted = $before }
        Write-StepResult -StepMode $Mode -Compliant $compliant -Changed ($needsChange -and $Mode -eq 'plan') -Before $before -After $predicted
        return
    }

    if ($wantMember) {
        try {
            if (Get-Command -Name Add-LocalGroupMember -ErrorAction SilentlyContinue) {
                Add-LocalGroupMember -SID $RemoteManagementUsersSid -Member $memberSid
            } else {
                $groupName = $before.groupName.Substring($before.groupName.IndexOf('\') + 1)
                ([ADSI]('WinNT://{0}/{1},group' -f $env:COMPUTERNAME, $groupName)).Add('WinNT://' + $memberSid)
            }
        } catch {
            # Added between check and change (a parallel run, a GPO refresh): the goal is reached.
            if ([string]$_.FullyQualifiedErrorId -notlike 'MemberExists*' -and $_.Exception.HResult -ne -2147023518) { throw }
        }
    } else {
        Remove-LocalGroupMember -SID $RemoteManagementUsersSid -Member $memberSid
    }
    $after = Get-RemoteManagementState -MemberSid $memberSid
    Write-StepResult -StepMode $Mode -Compliant $compliant -Changed $true -Before $before -After $after
} catch {
    Write-StepFailure -Record $_ -StepMode $Mode
}
