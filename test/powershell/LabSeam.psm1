# LabSeam: the seam functions of powershell/MonosyncCommon.ps1 implemented over the lab's JSON model of one
# machine (the LabHost shape of lab/model.ts, e.g. cbt.level, cbt.policyControlled, trustedHosts.value; or the
# worker, which has trustedHosts only), reading and writing that in-memory object. It is as thin as the seam:
# each fake reads or writes the field the Windows operation reads or writes, and fails the way Windows fails
# (a GPO-owned WSMan setting refuses the write with WinRM's own error record); every decision stays in the
# script under test. What the lab does not model throws "LabSeam does not model ...", which the contract
# reports as a difference: extend this file together with the step.
#
# Needs SeamTestKit.psm1 (Set-SeamFake, New-WsmanProviderError, $WinText) imported first.
#   Use-LabSeam -Machine $hostObject   # then run scripts; $hostObject changes as they write
Set-StrictMode -Version Latest

$script:Machine = $null

$script:WsmanPaths = @{
    'wsman:\localhost\service\auth\cbthardeninglevel' = 'cbt'
    'wsman:\localhost\client\trustedhosts'            = 'trustedHosts'
}
$script:PolicyKeys = @{
    'hkey_local_machine\software\policies\microsoft\windows\winrm\service' = 'service'
    'hkey_local_machine\software\policies\microsoft\windows\winrm\client'  = 'client'
}

function Get-LabSetting {
    # cbt -> {level, policyControlled}; trustedHosts -> {value, policyControlled}; with its value field.
    param([string]$Which)
    $setting = $script:Machine.PSObject.Properties[$Which]
    if ($null -eq $setting) { throw "LabSeam: the machine has no $Which (not modelled for it)" }
    if ($Which -eq 'cbt') { return @{ Object = $setting.Value; Field = 'level' } }
    return @{ Object = $setting.Value; Field = 'value' }
}

function Get-LabWsmanItem {
    param([string]$Path)
    $which = $script:WsmanPaths[$Path.ToLowerInvariant()]
    if ($null -eq $which) { throw "LabSeam does not model WSMan path $Path" }
    $setting = Get-LabSetting -Which $which
    $source = $null
    if ($setting.Object.policyControlled) { $source = 'GPO' }
    # The properties of a WSManConfigLeafElement the scripts read.
    return [pscustomobject]@{ Name = ($Path -split '\\')[-1]; Value = [string]$setting.Object.($setting.Field); SourceOfValue = $source }
}

function Set-LabWsmanItem {
    param([string]$Path, [string]$Value)
    $which = $script:WsmanPaths[$Path.ToLowerInvariant()]
    if ($null -eq $which) { throw "LabSeam does not model WSMan path $Path" }
    $setting = Get-LabSetting -Which $which
    if ($setting.Object.policyControlled) {
        # WinRM refuses a GPO-owned setting (0x8033808A); the WSMan: provider passes on only its text.
        if ($which -eq 'cbt') { throw (New-WsmanProviderError -Command SetItem -Message $WinText.CbtPolicy) }
        throw (New-WsmanProviderError -Command SetItem -Message $WinText.TrustedHostsPolicy)
    }
    $setting.Object.($setting.Field) = $Value
}

function Get-LabRegistryValue {
    # The Group Policy values WinRM reads: a GPO that owns a setting writes both its 'enabled' value and
    # the setting (WindowsRemoteManagement.admx), a machine without it has neither.
    param([string]$Key, [string]$Name)
    $which = $script:PolicyKeys[$Key.ToLowerInvariant()]
    if ($null -eq $which) { throw "LabSeam does not model registry key $Key" }
    if ($which -eq 'service') {
        if (@('AllowAutoConfig', 'IPv4Filter', 'IPv6Filter') -contains $Name) { return (Get-LabListenerPolicyValue -Name $Name) }
        $cbt = (Get-LabSetting -Which 'cbt').Object
        if (-not $cbt.policyControlled) { return $null }
        switch ($Name) {
            'CBTHardeningLevelStatus' { return 1 }
            'CbtHardeningLevel' { return [string]$cbt.level }
        }
        return $null
    }
    $trusted = (Get-LabSetting -Which 'trustedHosts').Object
    if (-not $trusted.policyControlled) { return $null }
    switch ($Name) {
        'TrustedHosts' { return 1 }
        'TrustedHostsList' { return [string]$trusted.value }
    }
    return $null
}

#region seam: Enable-KerberosDelegation
# The AD side of the lab: a call that runs on the AD management host (target 'ad') gets as its machine that
# host's computerName and fqdn, the domain, the DC the locator finds (LabSettings.domainController) and the
# estate's ad (LabDirectory of lab/model.ts: computers keyed by sAMAccountName, users keyed by SID, and
# optionally several domainControllers with replicationDelayMs); see machineOf in
# test/support/script-contract.ts. Objects are found the way Get-ADComputer -Identity finds them here: by
# sAMAccountName or objectGUID (users by SID). With several DCs the locator answers with each in turn
# (ad.locatorNext), and a DC other than the one that took a write reads the value from before it until
# replication.replicatesAt (a write here replicates at once: replicationDelayMs is not modelled, lab.ts is).
function Get-LabDirectory {
    $ad = $script:Machine.PSObject.Properties['ad']
    if ($null -eq $ad) { throw 'LabSeam: the machine has no ad (AD calls run on the AD management host)' }
    return $ad.Value
}

function Get-LabDirectoryPartition {
    return (@(([string]$script:Machine.domain).Split('.') | ForEach-Object { "DC=$_" })) -join ','
}

function Find-LabADComputer {
    param([string]$Identity)
    foreach ($entry in (Get-LabDirectory).computers.PSObject.Properties) {
        $computer = $entry.Value
        foreach ($key in @([string]$computer.samAccountName, [string]$computer.objectGuid)) {
            if ([string]::Equals($key, $Identity, [System.StringComparison]::OrdinalIgnoreCase)) { return $computer }
        }
    }
    throw (New-ADError -Kind IdentityNotFound -Command GetADComputer -Identity $Identity -Partition (Get-LabDirectoryPartition))
}

function Get-LabPendingReplication {
    # The object's write that $Server has not replicated yet, or $null.
    param($Computer, [string]$Server)
    $pending = $Computer.PSObject.Properties['replication']
    if ($null -eq $pending -or $null -eq $pending.Value) { return $null }
    $replication = $pending.Value
    if ([string]::Equals([string]$replication.writtenOn, $Server, [System.StringComparison]::OrdinalIgnoreCase)) { return $null }
    if ([DateTime]::UtcNow -ge [DateTime]::Parse([string]$replication.replicatesAt, [System.Globalization.CultureInfo]::InvariantCulture, [System.Globalization.DateTimeStyles]::AdjustToUniversal)) { return $null }
    return $replication
}

function Get-LabADComputer {
    # The properties of an ADComputer the script asks for, as $Server reads them; PrincipalsAllowedToDelegateToAccount
    # holds one principal when the lab says resource-based delegation is configured.
    param([string]$Identity, [string]$Server)
    $computer = Find-LabADComputer -Identity $Identity
    $principals = [string[]]@()
    if ($computer.resourceBasedDelegation) { $principals = [string[]]@("CN=RBCD-Principal,CN=Users,$(([string]$computer.distinguishedName) -replace '^.*?(?=DC=)', '')") }
    $trusted = [bool]$computer.trustedForDelegation
    $pending = Get-LabPendingReplication -Computer $computer -Server $Server
    if ($null -ne $pending) { $trusted = [bool]$pending.staleTrustedForDelegation }
    return [pscustomobject]@{
        DistinguishedName                    = [string]$computer.distinguishedName
        SamAccountName                       = [string]$computer.samAccountName
        DNSHostName                          = [string]$computer.dnsHostName
        ObjectGUID                           = [guid][string]$computer.objectGuid
        TrustedForDelegation                 = $trusted
        TrustedToAuthForDelegation           = [bool]$computer.trustedToAuthForDelegation
        'msDS-AllowedToDelegateTo'           = $computer.allowedToDelegateTo
        PrincipalsAllowedToDelegateToAccount = $principals
    }
}

function Set-LabADAccountControl {
    param([string]$Identity, [bool]$TrustedForDelegation)
    $computer = Find-LabADComputer -Identity $Identity
    if ($null -ne $computer.PSObject.Properties['replication']) { $computer.PSObject.Properties.Remove('replication') }
    $computer.trustedForDelegation = $TrustedForDelegation
}

function Get-LabADUser {
    # An ADUser by SID: AccountNotDelegated and tokenGroups. AD returns SecurityIdentifier objects, whose
    # ToString() is the SID; strings here (the type is Windows-only: PlatformNotSupportedException on Linux).
    param([string]$Identity)
    $users = (Get-LabDirectory).PSObject.Properties['users']
    if ($null -ne $users -and $null -ne $users.Value) {
        $user = $users.Value.PSObject.Properties[$Identity]
        if ($null -ne $user) {
            $groups = [string[]]@(foreach ($sid in @($user.Value.groupSids)) { [string]$sid })
            return [pscustomobject]@{
                SamAccountName      = [string]$user.Value.samAccountName
                SID                 = [string]$user.Value.sid
                AccountNotDelegated = [bool]$user.Value.accountNotDelegated
                tokenGroups         = $groups
            }
        }
    }
    throw (New-ADError -Kind IdentityNotFound -Command GetADUser -Identity $Identity -Partition (Get-LabDirectoryPartition))
}

function Find-LabDomainController {
    # The locator's answer: LabSettings.domainController, or with several DCs each in turn.
    $directory = Get-LabDirectory
    $all = $directory.PSObject.Properties['domainControllers']
    if ($null -eq $all -or @($all.Value).Count -eq 0) { return [pscustomobject]@{ HostName = [string[]]@([string]$script:Machine.domainController) } }
    $dcs = @($all.Value)
    $turn = 0
    $next = $directory.PSObject.Properties['locatorNext']
    if ($null -ne $next -and $null -ne $next.Value) { $turn = [int]$next.Value }
    if ($null -eq $next) { Add-Member -InputObject $directory -NotePropertyName 'locatorNext' -NotePropertyValue 0 }
    $directory.locatorNext = $turn + 1
    return [pscustomobject]@{ HostName = [string[]]@([string]$dcs[$turn % $dcs.Count]) }
}

function Use-LabADSeam {
    # Called by Use-LabSeam: the AD seam functions over the machine's ad part.
    Set-SeamFake -Name Import-WinADModule -ScriptBlock { }
    Set-SeamFake -Name Find-WinADDomainController -ScriptBlock { Find-LabDomainController }
    Set-SeamFake -Name Get-WinADComputer -ScriptBlock { param($Identity, $Server, $Properties) Get-LabADComputer -Identity $Identity -Server $Server }
    Set-SeamFake -Name Set-WinADAccountControl -ScriptBlock { param($Identity, $Server, $TrustedForDelegation) Set-LabADAccountControl -Identity $Identity -TrustedForDelegation $TrustedForDelegation }
    Set-SeamFake -Name Get-WinADUser -ScriptBlock { param($Identity, $Server, $Properties) Get-LabADUser -Identity $Identity }
}
#endregion

#region seam: Set-MonosyncFirewallRule
# host.firewall of the lab (lab/model.ts): enabled (Windows Firewall on), localRulesApply (false = a GPO sets
# AllowLocalFirewallRules False) and rules, which are inbound TCP allow rules
# {name, enabled, localPorts, remoteAddresses, profiles}; an empty localPorts is LocalPort Any, profiles left
# out is Profile Any. Rules are found by Name
# case-insensitively, as Windows finds them; a name that matches nothing fails as the cmdlet does.
function Get-LabFirewall {
    $firewall = $script:Machine.PSObject.Properties['firewall']
    if ($null -eq $firewall) { throw 'LabSeam: the machine has no firewall (not modelled for it)' }
    return $firewall.Value
}

function Find-LabFirewallRule {
    param([string]$Name, [string]$Command)
    foreach ($rule in @((Get-LabFirewall).rules)) {
        if ([string]::Equals([string]$rule.name, $Name, [System.StringComparison]::OrdinalIgnoreCase)) { return $rule }
    }
    throw (New-NetSecurityError -Kind NotFound -Command $Command -Name $Name)
}

function Get-LabFirewallRule {
    # The properties of an MSFT_NetFirewallRule the scripts read.
    param([string]$Name)
    $rule = Find-LabFirewallRule -Name $Name -Command 'Get-NetFirewallRule'
    # Profile as Windows formats its flags: 'Domain, Private', or 'Any'.
    $fwProfile = 'Any'
    $profiles = $rule.PSObject.Properties['profiles']
    if ($null -ne $profiles -and @($profiles.Value).Count -gt 0) { $fwProfile = (@($profiles.Value) | ForEach-Object { [string]$_ }) -join ', ' }
    return [pscustomobject]@{ Name = [string]$rule.name; DisplayName = [string]$rule.name; Enabled = [string][bool]$rule.enabled; Direction = 'Inbound'; Action = 'Allow'; Profile = $fwProfile }
}

function Get-LabFirewallPortFilter {
    param($Rule)
    $ports = [string[]]@(@((Find-LabFirewallRule -Name ([string]$Rule.Name) -Command 'Get-NetFirewallPortFilter').localPorts) | ForEach-Object { [string]$_ })
    if ($ports.Count -eq 0) { $ports = [string[]]@('Any') }
    return [pscustomobject]@{ Protocol = 'TCP'; LocalPort = $ports }
}

function Get-LabFirewallAddressFilter {
    param($Rule)
    $rule = Find-LabFirewallRule -Name ([string]$Rule.Name) -Command 'Get-NetFirewallAddressFilter'
    return [pscustomobject]@{ RemoteAddress = [string[]]@(@($rule.remoteAddresses) | ForEach-Object { [string]$_ }) }
}

function Get-LabFirewallProfile {
    $firewall = Get-LabFirewall
    $allowLocal = 'NotConfigured'
    if (-not $firewall.localRulesApply) { $allowLocal = 'False' }
    foreach ($name in 'Domain', 'Private', 'Public') {
        [pscustomobject]@{ Name = $name; Enabled = [string][bool]$firewall.enabled; AllowLocalFirewallRules = $allowLocal }
    }
}

function ConvertTo-LabFirewallRule {
    # The rule a New/Set with these values leaves, in the lab's shape; what the lab cannot hold is refused.
    param([string]$Name, [string]$Direction, [string]$Action, [string]$Protocol, [string[]]$LocalPort, [string[]]$RemoteAddress, [string]$FirewallProfile, [string]$Enabled)
    if ($Direction -ne 'Inbound' -or $Action -ne 'Allow' -or $Protocol -ne 'TCP') { throw "LabSeam does not model a $Direction $Action $Protocol firewall rule" }
    # -Profile 'Domain, Private' (Windows' flags); Any is every profile, which the lab holds as no list.
    $profiles = New-Object -TypeName 'System.Collections.Generic.List[object]'
    foreach ($part in ($FirewallProfile -split ',')) {
        $profileName = $part.Trim()
        if ($profileName -eq 'Any') { continue }
        if (@('Domain', 'Private', 'Public') -cnotcontains $profileName) { throw "LabSeam does not model firewall profile '$profileName'" }
        $profiles.Add($profileName)
    }
    $ports = New-Object -TypeName 'System.Collections.Generic.List[object]'
    foreach ($port in $LocalPort) {
        if ($port -eq 'Any' -and $LocalPort.Count -eq 1) { continue }
        if ($port -notmatch '^[0-9]{1,5}\z') { throw "LabSeam does not model LocalPort '$port'" }
        $ports.Add([int]$port)
    }
    $rule = [pscustomobject]@{ name = $Name; enabled = ($Enabled -eq 'True'); localPorts = [object[]]$ports.ToArray(); remoteAddresses = [object[]]@($RemoteAddress) }
    if ($profiles.Count -gt 0) { $rule | Add-Member -MemberType NoteProperty -Name profiles -Value ([object[]]$profiles.ToArray()) }
    return $rule
}

function New-LabFirewallRule {
    param([string]$Name, [string]$Direction, [string]$Action, [string]$Protocol, [string[]]$LocalPort, [string[]]$RemoteAddress, [string]$FirewallProfile, [string]$Enabled)
    $firewall = Get-LabFirewall
    foreach ($rule in @($firewall.rules)) {
        if ([string]::Equals([string]$rule.name, $Name, [System.StringComparison]::OrdinalIgnoreCase)) { throw (New-NetSecurityError -Kind Exists -Command 'New-NetFirewallRule') }
    }
    $new = ConvertTo-LabFirewallRule -Name $Name -Direction $Direction -Action $Action -Protocol $Protocol -LocalPort $LocalPort -RemoteAddress $RemoteAddress -FirewallProfile $FirewallProfile -Enabled $Enabled
    $firewall.rules = [object[]](@($firewall.rules) + @($new))
    return [pscustomobject]@{ Name = $Name }
}

function Set-LabFirewallRule {
    param([string]$Name, [string]$Direction, [string]$Action, [string]$Protocol, [string[]]$LocalPort, [string[]]$RemoteAddress, [string]$FirewallProfile, [string]$Enabled)
    $rule = Find-LabFirewallRule -Name $Name -Command 'Set-NetFirewallRule'
    $new = ConvertTo-LabFirewallRule -Name ([string]$rule.name) -Direction $Direction -Action $Action -Protocol $Protocol -LocalPort $LocalPort -RemoteAddress $RemoteAddress -FirewallProfile $FirewallProfile -Enabled $Enabled
    $rule.enabled = $new.enabled
    $rule.localPorts = $new.localPorts
    $rule.remoteAddresses = $new.remoteAddresses
    $rule.PSObject.Properties.Remove('profiles')
    $newProfiles = $new.PSObject.Properties['profiles']
    if ($null -ne $newProfiles) { $rule | Add-Member -MemberType NoteProperty -Name profiles -Value $newProfiles.Value }
}

function Remove-LabFirewallRule {
    param([string]$Name)
    $rule = Find-LabFirewallRule -Name $Name -Command 'Remove-NetFirewallRule'
    $firewall = Get-LabFirewall
    $firewall.rules = [object[]]@(@($firewall.rules) | Where-Object { -not [object]::ReferenceEquals($_, $rule) })
}

function Use-LabFirewallSeam {
    # Called by Use-LabSeam: the NetSecurity seam functions over the machine's firewall.
    Set-SeamFake -Name Get-WinFirewallRule -ScriptBlock { param($Name) Get-LabFirewallRule -Name $Name }
    Set-SeamFake -Name Get-WinFirewallPortFilter -ScriptBlock { param($Rule) Get-LabFirewallPortFilter -Rule $Rule }
    Set-SeamFake -Name Get-WinFirewallAddressFilter -ScriptBlock { param($Rule) Get-LabFirewallAddressFilter -Rule $Rule }
    Set-SeamFake -Name Get-WinFirewallProfile -ScriptBlock { Get-LabFirewallProfile }
    Set-SeamFake -Name New-WinFirewallRule -ScriptBlock {
        param($Name, $DisplayName, $Description, $Direction, $Action, $Protocol, $LocalPort, $RemoteAddress, $FirewallProfile, $Enabled)
        New-LabFirewallRule -Name $Name -Direction $Direction -Action $Action -Protocol $Protocol -LocalPort $LocalPort -RemoteAddress $RemoteAddress -FirewallProfile $FirewallProfile -Enabled $Enabled
    }
    Set-SeamFake -Name Set-WinFirewallRule -ScriptBlock {
        param($Name, $Direction, $Action, $Protocol, $LocalPort, $RemoteAddress, $FirewallProfile, $Enabled)
        Set-LabFirewallRule -Name $Name -Direction $Direction -Action $Action -Protocol $Protocol -LocalPort $LocalPort -RemoteAddress $RemoteAddress -FirewallProfile $FirewallProfile -Enabled $Enabled
    }
    Set-SeamFake -Name Remove-WinFirewallRule -ScriptBlock { param($Name) Remove-LabFirewallRule -Name $Name }
}
#endregion

#region seam: Enable-Remoting
# host.winrm {status, startType}, host.listeners (LabListener: address, transport, port, hostname, thumbprint,
# enabled, source) and host.sessionConfiguration of the lab (lab/model.ts). A stopped WinRM answers nothing:
# the listener enumeration fails as Get-WSManInstance does (0x80338012), and Get-PSSessionConfiguration,
# which would start WinRM through the WSMan: drive, is refused as something no step may do. What the step's
# scheduled task does to the host when it runs is lab-side only (steps/Enable-Remoting/lab.ts runRemotingTask).
function Get-LabWinRM {
    $winrm = $script:Machine.PSObject.Properties['winrm']
    if ($null -eq $winrm) { throw 'LabSeam: the machine has no winrm service (not modelled for it)' }
    return $winrm.Value
}

function Assert-LabServiceName {
    param([string]$Name)
    if (-not [string]::Equals($Name, 'WinRM', [System.StringComparison]::OrdinalIgnoreCase)) { throw "LabSeam does not model service $Name" }
}

function Get-LabService {
    # The ServiceController properties the scripts read.
    param([string]$Name)
    Assert-LabServiceName -Name $Name
    $winrm = Get-LabWinRM
    return [pscustomobject]@{ Name = 'WinRM'; DisplayName = 'Windows Remote Management (WS-Management)'; Status = [string]$winrm.status; StartType = [string]$winrm.startType }
}

function Get-LabCimService {
    param([string]$Name)
    Assert-LabServiceName -Name $Name
    $winrm = Get-LabWinRM
    $mode = [string]$winrm.startType
    if ($mode -eq 'Automatic') { $mode = 'Auto' }
    return [pscustomobject]@{ Name = 'WinRM'; State = [string]$winrm.status; StartMode = $mode }
}

function Set-LabServiceStartType {
    param([string]$Name, [string]$StartupType)
    Assert-LabServiceName -Name $Name
    # Set-Service binds -StartupType to an enum: anything else fails before it touches the service.
    $canonical = @('Automatic', 'Manual', 'Disabled') | Where-Object { $_ -eq $StartupType }
    if ($null -eq $canonical) { throw "LabSeam: Set-Service -StartupType '$StartupType' would not bind" }
    (Get-LabWinRM).startType = [string]$canonical
}

function Start-LabService {
    param([string]$Name)
    Assert-LabServiceName -Name $Name
    $winrm = Get-LabWinRM
    if ([string]$winrm.startType -eq 'Disabled') { throw (New-ServiceError -Kind StartDisabled) }
    $winrm.status = 'Running'
}

function Get-LabRemotingListener {
    # What Get-WSManInstance winrm/config/Listener -Enumerate returns: the values as text, Source only on a
    # listener that is not local configuration.
    if ([string](Get-LabWinRM).status -ne 'Running') {
        throw (New-WsmanFaultError -Code 2150858770 -Message $WinText.WinRMCannotConnect -Command 'Microsoft.WSMan.Management.GetWSManInstanceCommand' -Machine 'localhost')
    }
    foreach ($listener in @($script:Machine.listeners)) {
        $item = [ordered]@{
            Address               = [string]$listener.address
            Transport             = [string]$listener.transport
            Port                  = [string]$listener.port
            Hostname              = [string]$listener.hostname
            Enabled               = ([string][bool]$listener.enabled).ToLowerInvariant()
            URLPrefix             = 'wsman'
            CertificateThumbprint = [string]$listener.thumbprint
        }
        if ([string]$listener.source -ne 'Local') { $item['Source'] = [string]$listener.source }
        [pscustomobject]$item
    }
}

function Get-LabPSSessionConfiguration {
    # microsoft.powershell is enabled as sessionConfiguration.endpointsEnabled says; the other default endpoints
    # are enabled unless named in sessionConfiguration.disabledByAdmin (an administrator's choice).
    if ([string](Get-LabWinRM).status -ne 'Running') { throw 'LabSeam: Get-PSSessionConfiguration with WinRM stopped would start WinRM (the WSMan: drive offers to)' }
    $configuration = $script:Machine.sessionConfiguration
    $byAdmin = @()
    $property = $configuration.PSObject.Properties['disabledByAdmin']
    if ($null -ne $property -and $null -ne $property.Value) { $byAdmin = @($property.Value) }
    foreach ($name in 'microsoft.powershell', 'microsoft.powershell.workflow', 'microsoft.powershell32') {
        $enabled = -not ($byAdmin -contains $name)
        if ($name -eq 'microsoft.powershell') { $enabled = [bool]$configuration.endpointsEnabled }
        [pscustomobject]@{ Name = $name; Enabled = ([string]$enabled).ToLowerInvariant(); Permission = 'BUILTIN\Administrators AccessAllowed, BUILTIN\Remote Management Users AccessAllowed' }
    }
}

# Scheduled tasks: host.scheduledTasks (LabScheduledTask of lab/model.ts: path, name, state, lastTaskResult,
# runAs). A task the step starts is 'Running' with LastTaskResult 0x41301 until the lab runner lets it run
# (lab/lab-runner.ts: the next session to the host); the scripts only ever see it pending or ended.
function Get-LabScheduledTaskList {
    $property = $script:Machine.PSObject.Properties['scheduledTasks']
    if ($null -eq $property -or $null -eq $property.Value) { return ,([object[]]@()) }
    return ,([object[]]@($property.Value))
}

function Find-LabScheduledTask {
    param([string]$TaskPath, [string]$TaskName)
    $tasks = Get-LabScheduledTaskList
    return ($tasks | Where-Object { $_.path -eq $TaskPath -and $_.name -eq $TaskName } | Select-Object -First 1)
}

function Get-LabScheduledTask {
    # MSFT_ScheduledTask as Get-ScheduledTask lists it, Task Scheduler's own tasks too.
    [pscustomobject]@{ TaskPath = '\Microsoft\Windows\Defrag\'; TaskName = 'ScheduledDefrag'; State = 'Ready' }
    $tasks = Get-LabScheduledTaskList
    foreach ($task in $tasks) {
        [pscustomobject]@{ TaskPath = [string]$task.path; TaskName = [string]$task.name; State = [string]$task.state }
    }
}

function Get-LabScheduledTaskInfo {
    param([string]$TaskPath, [string]$TaskName)
    $task = Find-LabScheduledTask -TaskPath $TaskPath -TaskName $TaskName
    if ($null -eq $task) { throw "LabSeam: Get-ScheduledTaskInfo of a task that does not exist ($TaskPath$TaskName)" }
    return [pscustomobject]@{ TaskPath = $TaskPath; TaskName = $TaskName; LastTaskResult = [uint32]$task.lastTaskResult }
}

function Register-LabScheduledTask {
    param([string]$TaskPath, [string]$TaskName, [string]$UserId)
    $tasks = Get-LabScheduledTaskList
    $others = @($tasks | Where-Object { -not ($_.path -eq $TaskPath -and $_.name -eq $TaskName) })
    $new = [pscustomobject]@{ path = $TaskPath; name = $TaskName; state = 'Ready'; lastTaskResult = 267011; runAs = $UserId }
    $script:Machine | Add-Member -NotePropertyName scheduledTasks -NotePropertyValue ([object[]]($others + @($new))) -Force
}

function Start-LabScheduledTask {
    param([string]$TaskPath, [string]$TaskName)
    $task = Find-LabScheduledTask -TaskPath $TaskPath -TaskName $TaskName
    if ($null -eq $task) { throw "LabSeam: Start-ScheduledTask of a task that does not exist ($TaskPath$TaskName)" }
    $task.state = 'Running'
    $task.lastTaskResult = 267009
}

function Unregister-LabScheduledTask {
    param([string]$TaskPath, [string]$TaskName)
    if ($null -eq (Find-LabScheduledTask -TaskPath $TaskPath -TaskName $TaskName)) { throw "LabSeam: Unregister-ScheduledTask of a task that does not exist ($TaskPath$TaskName)" }
    $tasks = Get-LabScheduledTaskList
    $script:Machine.scheduledTasks = [object[]]@($tasks | Where-Object { -not ($_.path -eq $TaskPath -and $_.name -eq $TaskName) })
}

# Group Policy over WinRM: host.winrmListenerPolicy ('Allow remote server management through WinRM': the values
# it writes under the WinRM\Service policy key, which Get-LabRegistryValue passes here) and host.winrmServicePolicy
# (a 'System Services' entry, as RSOP_SystemService lists it beside a baseline's other services).
function Get-LabListenerPolicyValue {
    param([string]$Name)
    $policy = Get-LabMachinePart -Name 'winrmListenerPolicy'
    if ($null -eq $policy) { return $null }
    switch ($Name) {
        'AllowAutoConfig' { return 1 }
        'IPv4Filter' { return [string]$policy.ipv4Filter }
        'IPv6Filter' { return [string]$policy.ipv6Filter }
    }
    return $null
}

function Get-LabSystemServicePolicy {
    $policy = Get-LabMachinePart -Name 'winrmServicePolicy'
    if ($null -eq $policy) { return , @() }
    $modes = @{ Automatic = 2; Manual = 3; Disabled = 4 }
    $gpo = [string]$policy.gpo
    $entries = @(
        [pscustomobject]@{ Service = 'Spooler'; StartupMode = 4; SDDLString = ''; GPOID = $gpo; precedence = 1 }
        [pscustomobject]@{ Service = 'WinRM'; StartupMode = $modes[[string]$policy.startType]; SDDLString = ''; GPOID = $gpo; precedence = 1 }
    )
    return , $entries
}

function Use-LabRemotingSeam {
    # Called by Use-LabSeam: the service, listener, endpoint and scheduled task seam functions over the machine.
    Set-SeamFake -Name Get-WinService -ScriptBlock { param($Name) Get-LabService -Name $Name }
    Set-SeamFake -Name Get-WinCimService -ScriptBlock { param($Name) Get-LabCimService -Name $Name }
    Set-SeamFake -Name Set-WinServiceStartType -ScriptBlock { param($Name, $StartupType) Set-LabServiceStartType -Name $Name -StartupType $StartupType }
    Set-SeamFake -Name Start-WinService -ScriptBlock { param($Name) Start-LabService -Name $Name }
    Set-SeamFake -Name Get-WinWsmanListener -ScriptBlock { Get-LabRemotingListener }
    Set-SeamFake -Name Get-WinPSSessionConfiguration -ScriptBlock { Get-LabPSSessionConfiguration }
    Set-SeamFake -Name Get-WinScheduledTask -ScriptBlock { Get-LabScheduledTask }
    Set-SeamFake -Name Get-WinScheduledTaskInfo -ScriptBlock { param($TaskPath, $TaskName) Get-LabScheduledTaskInfo -TaskPath $TaskPath -TaskName $TaskName }
    Set-SeamFake -Name Register-WinScheduledTask -ScriptBlock { param($TaskPath, $TaskName, $Execute, $Argument, $UserId) Register-LabScheduledTask -TaskPath $TaskPath -TaskName $TaskName -UserId $UserId }
    Set-SeamFake -Name Start-WinScheduledTask -ScriptBlock { param($TaskPath, $TaskName) Start-LabScheduledTask -TaskPath $TaskPath -TaskName $TaskName }
    Set-SeamFake -Name Unregister-WinScheduledTask -ScriptBlock { param($TaskPath, $TaskName) Unregister-LabScheduledTask -TaskPath $TaskPath -TaskName $TaskName }
    Set-SeamFake -Name Get-WinSystemServicePolicy -ScriptBlock { Get-LabSystemServicePolicy }
}
#endregion

#region seam: Set-HttpsListener
# WinRM listeners (host.listeners: address, transport, port, hostname, thumbprint, enabled, source) as the
# WSMan cmdlets see them, and Cert:\LocalMachine\My (host.certificates: the CertificateInfo facts of
# steps/Set-HttpsListener/step.ts) as X509Certificate2-like objects. WinRM's checks when a listener is
# written are WinRM's, so they are here, with its fault codes (wsmerror.h): Hostname must be the
# certificate's subject CN (0x803380E9, a SAN name does not do), the certificate must have the Server
# Authentication EKU (0x803380EE); a listener that exists cannot be created again (0x80338033), one that
# does not cannot be changed (0x80338000), and a GPO listener cannot be changed at all (0x8033808A); an
# Address=* HTTPS listener cannot be created over an HTTP.sys SSL binding that no listener owns (183).
# Also here: Exchange's service bindings (host.exchangeCertificateServices, absent = no snap-in),
# Test-Certificate's verdict (host.certificateChainErrors) and netsh http show sslcert
# (host.httpSysSslBindings, else the binding WinRM keeps for its listener), as lab.ts reads them.
$script:ListenerFault = @{
    AlreadyExists = @(2150858803, 'The WS-Management service cannot create the resource because it already exists.')
    NotFound      = @(2150858752, 'The WS-Management service cannot process the request. The service cannot find the resource identified by the resource URI and selectors.')
    CnMismatch    = @(2150858985, 'The WinRM client cannot process the request. The certificate CN and the hostname that were provided do not match.')
    NoServerAuth  = @(2150858990, 'The WinRM client cannot process the request. The Enhanced Key Usage (EKU) field of the certificate is not set to "Server Authentication". Retry the request with a certificate that has the correct EKU.')
    Policy        = @(2150858890, 'Cannot change GPO controlled setting.')
    # HRESULT_FROM_WIN32(ERROR_ALREADY_EXISTS): HTTP.sys already holds an SSL binding on the listener's 0.0.0.0:<port>.
    SslBindingExists = @(2147942583, 'Cannot create a file when that file already exists. ')
}

function New-LabListenerFault {
    param([string]$Kind, [string]$Verb)
    $fault = $script:ListenerFault[$Kind]
    return (New-WsmanFaultError -Code $fault[0] -Message $fault[1] -Command "Microsoft.WSMan.Management.$($Verb)WSManInstanceCommand" -Machine 'localhost')
}

function Get-LabCommonName {
    # The CN of a DN (lab/certificates.ts subjectCommonName); '' when it has none.
    param([string]$Dn)
    foreach ($part in ($Dn -split ',')) {
        $part = $part.Trim()
        if ($part -match '^CN=') { return $part.Substring(3).Trim() }
    }
    return ''
}

function ConvertFrom-LabDate {
    # X509Certificate2.NotBefore/NotAfter are local times.
    param([string]$Text)
    $styles = [System.Globalization.DateTimeStyles]::AdjustToUniversal -bor [System.Globalization.DateTimeStyles]::AssumeUniversal
    return [DateTime]::Parse($Text, [System.Globalization.CultureInfo]::InvariantCulture, $styles).ToLocalTime()
}

function ConvertTo-LabX509 {
    # What the script reads of an X509Certificate2 from the certificate provider: DnsNameList (the lab's
    # dnsNames), the EKU extension (Server Authentication, or Client Authentication only) and GetNameInfo.
    param($Certificate)
    $usage = [pscustomobject]@{ Value = '1.3.6.1.5.5.7.3.2'; FriendlyName = 'Client Authentication' }
    if ($Certificate.serverAuth) { $usage = [pscustomobject]@{ Value = '1.3.6.1.5.5.7.3.1'; FriendlyName = 'Server Authentication' } }
    $eku = [pscustomobject]@{ Oid = [pscustomobject]@{ Value = '2.5.29.37'; FriendlyName = 'Enhanced Key Usage' }; Critical = $false; EnhancedKeyUsages = [object[]]@($usage) }
    $x509 = [pscustomobject]@{
        Thumbprint    = [string]$Certificate.thumbprint
        Subject       = [string]$Certificate.subject
        Issuer        = [string]$Certificate.issuer
        DnsNameList   = [object[]]@(@($Certificate.dnsNames) | ForEach-Object { [pscustomobject]@{ Punycode = [string]$_; Unicode = [string]$_ } })
        NotBefore     = ConvertFrom-LabDate -Text ([string]$Certificate.notBefore)
        NotAfter      = ConvertFrom-LabDate -Text ([string]$Certificate.notAfter)
        HasPrivateKey = [bool]$Certificate.hasPrivateKey
        Extensions    = [object[]]@($eku)
    }
    # GetNameInfo(SimpleName, forIssuer): the CN of the subject or the issuer.
    Add-Member -InputObject $x509 -MemberType ScriptMethod -Name GetNameInfo -Value {
        param($NameType, $ForIssuer)
        if ([string]$NameType -ne 'SimpleName') { throw "LabSeam does not model GetNameInfo($NameType)" }
        if ($ForIssuer) { return (Get-LabCommonName -Dn $this.Issuer) }
        return (Get-LabCommonName -Dn $this.Subject)
    }
    return $x509
}

function Find-LabCertificate {
    param([string]$Thumbprint)
    foreach ($certificate in @($script:Machine.certificates)) {
        if ([string]::Equals([string]$certificate.thumbprint, $Thumbprint, [System.StringComparison]::OrdinalIgnoreCase)) { return $certificate }
    }
    return $null
}

function Get-LabCertificate {
    param([string]$Path)
    if ($Path -ne 'Cert:\LocalMachine\My') { throw "LabSeam does not model certificate store $Path" }
    foreach ($certificate in @($script:Machine.certificates)) { ConvertTo-LabX509 -Certificate $certificate }
}

function Get-LabMachinePart {
    # An optional part of the host ($null when the estate leaves it out).
    param([string]$Name)
    $part = $script:Machine.PSObject.Properties[$Name]
    if ($null -eq $part) { return $null }
    return $part.Value
}

function Get-LabExchangeCertificate {
    # Get-ExchangeCertificate's Thumbprint and Services ('IMAP, POP, IIS, SMTP' or 'None') from
    # host.exchangeCertificateServices. A host without it has no Exchange snap-in, so no such command.
    $services = Get-LabMachinePart -Name 'exchangeCertificateServices'
    if ($null -eq $services) { throw "The term 'Get-ExchangeCertificate' is not recognized as the name of a cmdlet, function, script file, or operable program." }
    foreach ($entry in $services.PSObject.Properties) {
        $text = (@($entry.Value) | ForEach-Object { [string]$_ }) -join ', '
        if ($text -eq '') { $text = 'None' }
        [pscustomobject]@{ Thumbprint = $entry.Name; Services = $text }
    }
}

function Get-LabPSSnapin {
    # Get-PSSnapin: Exchange's snap-in is registered when the host has Exchange (exchangeCertificateServices
    # present); a fresh session (each script run is one) has loaded none.
    param([switch]$Registered)
    if (-not $Registered) { return }
    if ($null -eq (Get-LabMachinePart -Name 'exchangeCertificateServices')) { return }
    [pscustomobject]@{ Name = 'Microsoft.Exchange.Management.PowerShell.SnapIn'; PSVersion = '1.0'; Description = 'Admin Tasks for the Exchange Server' }
}

function Add-LabPSSnapin {
    # Add-PSSnapin of a snap-in that is not registered fails as Windows PowerShell does.
    param([string]$Name)
    $registered = @(Get-LabPSSnapin -Registered | Where-Object { $_.Name -eq $Name })
    if ($registered.Count -eq 0) { throw "The Windows PowerShell snap-in '$Name' is not installed on this computer." }
}

function Test-LabCertificate {
    # Test-Certificate -Policy SSL's verdict from host.certificateChainErrors (absent: the chain is trusted).
    param($Certificate)
    $errors = Get-LabMachinePart -Name 'certificateChainErrors'
    if ($null -ne $errors) {
        foreach ($entry in $errors.PSObject.Properties) {
            if ([string]::Equals($entry.Name, [string]$Certificate.Thumbprint, [System.StringComparison]::OrdinalIgnoreCase)) {
                return [pscustomobject]@{ Valid = $false; Errors = [string[]]@([string]$entry.Value) }
            }
        }
    }
    return [pscustomobject]@{ Valid = $true; Errors = [string[]]@() }
}

function Find-LabForeignSslBinding {
    # An HTTP.sys SSL binding WinRM does not keep (host.httpSysSslBindings) on IpPort.
    param([string]$IpPort)
    foreach ($binding in @(Get-LabMachinePart -Name 'httpSysSslBindings')) {
        if ($null -ne $binding -and [string]$binding.ipPort -eq $IpPort) { return $binding }
    }
    return $null
}

function Get-LabHttpSslBinding {
    # netsh http show sslcert ipport=<IpPort> as Windows prints it: the foreign binding there, else the one
    # WinRM keeps for its Address=* HTTPS listener on that port (lab.ts sslBindingAt), else exit code 1.
    param([string]$IpPort)
    $binding = Find-LabForeignSslBinding -IpPort $IpPort
    if ($null -eq $binding) {
        foreach ($listener in @($script:Machine.listeners)) {
            if ([string]$listener.transport -ne 'HTTPS' -or [string]$listener.source -eq 'Compatibility' -or [string]$listener.address -ne '*') { continue }
            if ("0.0.0.0:$([int]$listener.port)" -ne $IpPort) { continue }
            $binding = [pscustomobject]@{ ipPort = $IpPort; certificateHash = ([string]$listener.thumbprint).ToLowerInvariant(); appId = '{afebb9ad-9b97-4a91-9ab5-daa4e5ef0c2f}' }
        }
    }
    if ($null -eq $binding) {
        return [pscustomobject]@{ ExitCode = 1; Lines = [object[]]@('', 'SSL Certificate bindings:', '-------------------------', '', 'The system cannot find the file specified.', '') }
    }
    return [pscustomobject]@{
        ExitCode = 0
        Lines    = [object[]]@(
            '', 'SSL Certificate bindings:', '-------------------------', '',
            "    IP:port                      : $($binding.ipPort)",
            "    Certificate Hash             : $($binding.certificateHash)",
            "    Application ID               : $($binding.appId)",
            '    Certificate Store Name       : MY',
            '    Verify Client Certificate Revocation : Enabled', '')
    }
}

function Find-LabListener {
    # The listener WinRM keys by Address+Transport (Compatibility listeners are not configuration).
    param([string]$Address, [string]$Transport)
    foreach ($listener in @($script:Machine.listeners)) {
        if ([string]$listener.source -eq 'Compatibility') { continue }
        if ([string]$listener.address -eq $Address -and [string]$listener.transport -eq $Transport) { return $listener }
    }
    return $null
}

function Assert-LabListenerCertificate {
    # WinRM's checks of an HTTPS listener's certificate against its host name.
    param([hashtable]$ValueSet, [string]$Verb)
    $certificate = Find-LabCertificate -Thumbprint ([string]$ValueSet['CertificateThumbprint'])
    if ($null -eq $certificate) { throw "LabSeam does not model a listener on a certificate that is not in the store ($($ValueSet['CertificateThumbprint']))" }
    if (-not $certificate.serverAuth) { throw (New-LabListenerFault -Kind NoServerAuth -Verb $Verb) }
    if ((Get-LabCommonName -Dn ([string]$certificate.subject)) -ne [string]$ValueSet['Hostname']) { throw (New-LabListenerFault -Kind CnMismatch -Verb $Verb) }
}

function New-LabListener {
    param([string]$Address, [string]$Transport, [hashtable]$ValueSet)
    if ($null -ne (Find-LabListener -Address $Address -Transport $Transport)) { throw (New-LabListenerFault -Kind AlreadyExists -Verb New) }
    if ($Transport -eq 'HTTPS' -and $Address -eq '*' -and $null -ne (Find-LabForeignSslBinding -IpPort "0.0.0.0:$([int]$ValueSet['Port'])")) { throw (New-LabListenerFault -Kind SslBindingExists -Verb New) }
    if ($Transport -eq 'HTTPS') { Assert-LabListenerCertificate -ValueSet $ValueSet -Verb New }
    $port = 5985
    if ($Transport -eq 'HTTPS') { $port = 5986 }
    if ($ValueSet.ContainsKey('Port')) { $port = [int]$ValueSet['Port'] }
    $listener = [pscustomobject]@{
        address    = $Address
        transport  = $Transport
        port       = $port
        hostname   = [string]$ValueSet['Hostname']
        thumbprint = [string]$ValueSet['CertificateThumbprint']
        enabled    = ([string]$ValueSet['Enabled'] -ne 'false')
        source     = 'Local'
    }
    $script:Machine.listeners = [object[]](@($script:Machine.listeners) + @($listener))
}

function Set-LabListener {
    param([string]$Address, [string]$Transport, [hashtable]$ValueSet)
    $listener = Find-LabListener -Address $Address -Transport $Transport
    if ($null -eq $listener) { throw (New-LabListenerFault -Kind NotFound -Verb Set) }
    if ([string]$listener.source -eq 'GPO') { throw (New-LabListenerFault -Kind Policy -Verb Set) }
    $next = @{ Hostname = [string]$listener.hostname; CertificateThumbprint = [string]$listener.thumbprint }
    foreach ($key in 'Hostname', 'CertificateThumbprint') { if ($ValueSet.ContainsKey($key)) { $next[$key] = [string]$ValueSet[$key] } }
    if ($Transport -eq 'HTTPS') { Assert-LabListenerCertificate -ValueSet $next -Verb Set }
    $listener.hostname = $next['Hostname']
    $listener.thumbprint = $next['CertificateThumbprint']
    if ($ValueSet.ContainsKey('Port')) { $listener.port = [int]$ValueSet['Port'] }
    if ($ValueSet.ContainsKey('Enabled')) { $listener.enabled = ([string]$ValueSet['Enabled'] -ne 'false') }
    foreach ($key in $ValueSet.Keys) {
        if (@('Hostname', 'CertificateThumbprint', 'Port', 'Enabled') -notcontains $key) { throw "LabSeam does not model listener setting $key" }
    }
}

function Remove-LabListener {
    param([string]$Address, [string]$Transport)
    $listener = Find-LabListener -Address $Address -Transport $Transport
    if ($null -eq $listener) { throw (New-LabListenerFault -Kind NotFound -Verb Remove) }
    if ([string]$listener.source -eq 'GPO') { throw (New-LabListenerFault -Kind Policy -Verb Remove) }
    $script:Machine.listeners = [object[]]@(@($script:Machine.listeners) | Where-Object { -not [object]::ReferenceEquals($_, $listener) })
}

function Use-LabHttpsListenerSeam {
    # Called by Use-LabSeam. Get-WinWsmanListener is faked by Use-LabRemotingSeam (Get-LabRemotingListener).
    Set-SeamFake -Name New-WinWsmanListener -ScriptBlock { param($Address, $Transport, $ValueSet) New-LabListener -Address $Address -Transport $Transport -ValueSet $ValueSet }
    Set-SeamFake -Name Set-WinWsmanListener -ScriptBlock { param($Address, $Transport, $ValueSet) Set-LabListener -Address $Address -Transport $Transport -ValueSet $ValueSet }
    Set-SeamFake -Name Remove-WinWsmanListener -ScriptBlock { param($Address, $Transport) Remove-LabListener -Address $Address -Transport $Transport }
    Set-SeamFake -Name Get-WinCertificate -ScriptBlock { param($Path) Get-LabCertificate -Path $Path }
    Set-SeamFake -Name Get-WinPSSnapin -ScriptBlock { param([switch]$Registered) Get-LabPSSnapin -Registered:$Registered }
    Set-SeamFake -Name Add-WinPSSnapin -ScriptBlock { param($Name) Add-LabPSSnapin -Name $Name }
    Set-SeamFake -Name Get-WinExchangeCertificate -ScriptBlock { Get-LabExchangeCertificate }
    Set-SeamFake -Name Test-WinCertificate -ScriptBlock { param($Certificate, $DnsName) Test-LabCertificate -Certificate $Certificate }
    Set-SeamFake -Name Get-WinHttpSslBinding -ScriptBlock { param($IpPort) Get-LabHttpSslBinding -IpPort $IpPort }
}
#endregion

#region seam: Test-MonosyncConnectivity
# The acceptance probes run on the worker and reach an Exchange host over the network. Their machine is the
# worker (LabWorker of lab/model.ts, with computerName and fqdn) carrying its view of the network: identity
# (its token's DOMAIN\user), identitySid, domain (its AD domain's DNS name, whose SYSVOL the second hop reads),
# now (the lab clock, ISO 8601) and network {hosts: {<fqdn>: LabHost},
# computers: {<NAME$>: LabComputerObject}}; steps/Test-MonosyncConnectivity/contract.test.ts builds it. What
# each probe meets is the model of steps/Test-MonosyncConnectivity/lab.ts, which the contract holds this to:
# a firewall that does not admit the worker on 5986 drops (no answer), WinRM stopped or no enabled HTTPS
# listener on 5986 refuses, a listener certificate missing from the store or without its private key breaks
# the handshake; the WinRM client refuses a certificate that does not name the host or is not time-valid.
function Get-LabWorkerPart {
    param([string]$Name)
    $part = $script:Machine.PSObject.Properties[$Name]
    if ($null -eq $part) { throw "LabSeam: the machine has no $Name (the acceptance probes run on the worker, with its view of the network)" }
    return $part.Value
}

function Get-LabNetworkHost {
    param([string]$HostName)
    $entry = (Get-LabWorkerPart -Name 'network').hosts.PSObject.Properties[$HostName.ToLowerInvariant()]
    if ($null -eq $entry) { throw "LabSeam does not model host $HostName (name resolution)" }
    return $entry.Value
}

function ConvertFrom-LabWorkerDate {
    param([string]$Text)
    return [datetime]::Parse($Text, [System.Globalization.CultureInfo]::InvariantCulture, [System.Globalization.DateTimeStyles]::RoundtripKind)
}

function Get-LabTlsOutcome {
    # What a TCP connection and a TLS handshake from the worker to HostName:Port meet: @{ Kind = 'Timeout' |
    # 'Refused' | 'Closed' } or @{ Kind = 'Served'; Certificate = <the LabCertificate> }.
    param([string]$HostName, [int]$Port)
    $target = Get-LabNetworkHost -HostName $HostName
    $addresses = @(@(Get-LabWorkerPart -Name 'addresses') | ForEach-Object { [string]$_ })
    if ($target.firewall.enabled) {
        $admitted = $false
        if ($target.firewall.localRulesApply) {
            foreach ($rule in @($target.firewall.rules)) {
                if (-not $rule.enabled -or @($rule.localPorts) -notcontains $Port) { continue }
                # No worker addresses known: a rule scoped to addresses is taken to admit it (as lab.ts does).
                if ($addresses.Count -eq 0) { $admitted = $true }
                foreach ($address in @($rule.remoteAddresses)) {
                    if ([string]$address -eq 'Any' -or $addresses -ccontains [string]$address) { $admitted = $true }
                }
            }
        }
        if (-not $admitted) { return @{ Kind = 'Timeout' } }
    }
    if ([string]$target.winrm.status -ne 'Running') { return @{ Kind = 'Refused' } }
    $listener = $null
    foreach ($candidate in @($target.listeners)) {
        if ($null -eq $listener -and [string]$candidate.transport -eq 'HTTPS' -and $candidate.enabled -and [int]$candidate.port -eq $Port) { $listener = $candidate }
    }
    if ($null -eq $listener) { return @{ Kind = 'Refused' } }
    foreach ($certificate in @($target.certificates)) {
        if ([string]::Equals([string]$certificate.thumbprint, [string]$listener.thumbprint, [System.StringComparison]::OrdinalIgnoreCase)) {
            if (-not $certificate.hasPrivateKey) { return @{ Kind = 'Closed' } }
            return @{ Kind = 'Served'; Certificate = $certificate }
        }
    }
    return @{ Kind = 'Closed' }
}

function Get-LabCertificateProblem {
    # The WinRM client's objections to a served certificate for HostName ($WinText lines), none when it accepts it.
    param($Certificate, [string]$HostName)
    $problems = New-Object -TypeName 'System.Collections.Generic.List[string]'
    $names = @(@($Certificate.dnsNames) | ForEach-Object { [string]$_ })
    $cn = [regex]::Match([string]$Certificate.subject, '(?:^|,)\s*CN=([^,]*)')
    if ($cn.Success) { $names += $cn.Groups[1].Value.Trim() }
    $named = $false
    foreach ($name in $names) { if ([string]::Equals($name, $HostName, [System.StringComparison]::OrdinalIgnoreCase)) { $named = $true } }
    if (-not $named) { $problems.Add($WinText.CertNameMismatch) }
    $now = ConvertFrom-LabWorkerDate -Text ([string](Get-LabWorkerPart -Name 'now'))
    if ((ConvertFrom-LabWorkerDate -Text ([string]$Certificate.notBefore)) -gt $now -or (ConvertFrom-LabWorkerDate -Text ([string]$Certificate.notAfter)) -le $now) { $problems.Add($WinText.CertExpired) }
    return , [string[]]$problems.ToArray()
}

function Get-LabWsmanFault {
    # $null when Test-WSMan over HTTPS succeeds, else @{ Code; Text; Reason } of its WSMan fault (Reason: the
    # FQID head a remoting session reports for it).
    param([string]$ComputerName)
    $outcome = Get-LabTlsOutcome -HostName $ComputerName -Port 5986
    if ($outcome.Kind -eq 'Timeout') { return @{ Code = [long]2150859046; Text = $WinText.WinRMCannotComplete; Reason = 'WinRMOperationTimeout' } }
    if ($outcome.Kind -ne 'Served') { return @{ Code = [long]2150858770; Text = $WinText.WinRMCannotConnect; Reason = 'CannotConnect' } }
    $problems = Get-LabCertificateProblem -Certificate $outcome.Certificate -HostName $ComputerName
    if ($problems.Count -gt 0) { return @{ Code = [long]12175; Problems = $problems; Text = ($WinText.WsmanCertificateErrors -f $ComputerName) + ($problems -join ' '); Reason = '12175' } }
    return $null
}

function Open-LabTlsStream {
    # The connection (the firewall, WinRM, a listener on the port), as a stream object the other two fakes read.
    param([string]$HostName, [int]$Port)
    $outcome = Get-LabTlsOutcome -HostName $HostName -Port $Port
    if ($outcome.Kind -eq 'Timeout' -or $outcome.Kind -eq 'Refused') { throw (New-TlsProbeError -Kind $outcome.Kind) }
    $stream = [pscustomobject]@{ HostName = $HostName; Port = $Port; Outcome = $outcome; Authenticated = $false }
    Add-Member -InputObject $stream -MemberType ScriptMethod -Name Dispose -Value { }
    return $stream
}

function Invoke-LabTlsHandshake {
    # The server has no usable certificate (gone from the store, or without its private key): it breaks off.
    param($Stream)
    if ($Stream.Outcome.Kind -ne 'Served') { throw (New-TlsProbeError -Kind Closed) }
    $Stream.Authenticated = $true
}

function Get-LabTlsRemoteCertificate {
    # The X509Certificate2 members the script reads of the served certificate.
    param($Stream)
    if (-not $Stream.Authenticated) { throw 'LabSeam: no certificate before the handshake (RemoteCertificate is null)' }
    $certificate = $Stream.Outcome.Certificate
    return [pscustomobject]@{
        Thumbprint = ([string]$certificate.thumbprint).ToUpperInvariant()
        Subject    = [string]$certificate.subject
        Issuer     = [string]$certificate.issuer
        NotBefore  = ConvertFrom-LabWorkerDate -Text ([string]$certificate.notBefore)
        NotAfter   = ConvertFrom-LabWorkerDate -Text ([string]$certificate.notAfter)
    }
}

function Test-LabWsmanHttps {
    param([string]$ComputerName)
    $fault = Get-LabWsmanFault -ComputerName $ComputerName
    $client = [string]$script:Machine.fqdn
    if ($null -ne $fault -and $fault.Code -eq 12175) { throw (New-WsmanCertificateError -Problem $fault.Problems -ComputerName $ComputerName -Machine $client) }
    if ($null -ne $fault) { throw (New-WsmanFaultError -Code $fault.Code -Message $fault.Text -Machine $client) }
    # What Test-WSMan -Authentication prints: the identify response with the product version.
    return [pscustomobject]@{ wsmid = 'http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd'; ProtocolVersion = 'http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd'; ProductVendor = 'Microsoft Corporation'; ProductVersion = 'OS: 10.0.17763 SP: 0.0 Stack: 3.0' }
}

function Test-LabRemoteSession {
    # The session opens for a member (by SID) of Remote Management Users when the Microsoft.PowerShell endpoint is
    # enabled, allows the group and does not deny network logons (Disable-PSRemoting); it answers $true.
    param([string]$ComputerName)
    $fault = Get-LabWsmanFault -ComputerName $ComputerName
    if ($null -ne $fault) { throw (New-RemotingTransportError -ErrorCode $fault.Code -Text $fault.Text -Reason $fault.Reason -ComputerName $ComputerName) }
    $target = Get-LabNetworkHost -HostName $ComputerName
    $sid = [string](Get-LabWorkerPart -Name 'identitySid')
    $member = $false
    foreach ($entry in @($target.remoteManagementUsers.members)) { if ([string]$entry.sid -ceq $sid) { $member = $true } }
    $endpoint = $target.sessionConfiguration
    if (-not ($member -and $endpoint.endpointsEnabled -and $endpoint.allowsRemoteManagementUsers -and -not $endpoint.networkDenied)) {
        throw (New-RemotingTransportError -ErrorCode 5 -Text 'Access is denied.' -Reason 'AccessDenied' -ComputerName $ComputerName)
    }
    return $true
}

function Test-LabRemoteSysvol {
    # Such a session; there Test-Path of \\<Domain>\SYSVOL is true exactly when Domain is the worker's domain and
    # the computer object may delegate (unconstrained, or constrained to some service).
    param([string]$ComputerName, [string]$Domain)
    $null = Test-LabRemoteSession -ComputerName $ComputerName
    $target = Get-LabNetworkHost -HostName $ComputerName
    if (-not [string]::Equals($Domain, [string](Get-LabWorkerPart -Name 'domain'), [System.StringComparison]::OrdinalIgnoreCase)) { return $false }
    if (-not $target.domainJoined) { return $false }
    $computer = (Get-LabWorkerPart -Name 'network').computers.PSObject.Properties[([string]$target.computerName).ToUpperInvariant() + '$']
    if ($null -eq $computer) { return $false }
    return ([bool]$computer.Value.trustedForDelegation -or @($computer.Value.allowedToDelegateTo).Count -gt 0)
}

function Use-LabConnectivitySeam {
    # Called by Use-LabSeam: the acceptance probes over the worker's view of the network.
    Set-SeamFake -Name Get-WinCurrentIdentityName -ScriptBlock { [string](Get-LabWorkerPart -Name 'identity') }
    Set-SeamFake -Name Open-WinTlsStream -ScriptBlock { param($HostName, $Port) Open-LabTlsStream -HostName $HostName -Port $Port }
    Set-SeamFake -Name Invoke-WinTlsHandshake -ScriptBlock { param($Stream, $HostName) Invoke-LabTlsHandshake -Stream $Stream }
    Set-SeamFake -Name Get-WinTlsRemoteCertificate -ScriptBlock { param($Stream) Get-LabTlsRemoteCertificate -Stream $Stream }
    Set-SeamFake -Name Test-WinWsmanHttps -ScriptBlock { param($ComputerName, $ConnectAs) Test-LabWsmanHttps -ComputerName $ComputerName }
    Set-SeamFake -Name Test-WinRemoteSession -ScriptBlock { param($ComputerName, $ConnectAs) Test-LabRemoteSession -ComputerName $ComputerName }
    Set-SeamFake -Name Test-WinRemoteSysvol -ScriptBlock { param($ComputerName, $Domain, $ConnectAs) Test-LabRemoteSysvol -ComputerName $ComputerName -Domain $Domain }
    # klist purge and the pause between attempts change nothing the lab models.
    Set-SeamFake -Name Clear-WinKerberosTicket -ScriptBlock { }
    Set-SeamFake -Name Wait-WinSeconds -ScriptBlock { param($Seconds) }
}
#endregion

#region seam: Grant-RemoteManagement
# host.remoteManagementUsers {groupName, members [{sid, account}]}, host.sessionConfiguration
# {endpointsEnabled, allowsRemoteManagementUsers, networkDenied}, domainJoined, isDomainController and osVersion
# of the lab (lab/model.ts). Accounts resolve to the SIDs lab/identity.ts derives (accountSid, downLevelName,
# ported here), on a domain-joined host only; the group answers to its SID and its (localized) name. The
# Microsoft.PowerShell endpoints carry the SDDL Windows sets (RM allowed; Disable-PSRemoting's NETWORK deny).
$script:LabAccountNames = @{}
$script:LabSddlAliases = @{
    BA = 'S-1-5-32-544'; BU = 'S-1-5-32-545'; RM = 'S-1-5-32-580'; IU = 'S-1-5-4'; NU = 'S-1-5-2'; WD = 'S-1-1-0'
    AU = 'S-1-5-11'; SY = 'S-1-5-18'; NS = 'S-1-5-20'; LS = 'S-1-5-19'; RD = 'S-1-5-32-555'
}

function ConvertTo-LabDownLevelName {
    # downLevelName of lab/identity.ts: CORP\user for CORP\user, corp\user and user@corp.example.
    param([string]$Account)
    $trimmed = $Account.Trim()
    if ($trimmed.Contains('\')) {
        $parts = $trimmed.Split('\')
        return ('{0}\{1}' -f $parts[0].ToUpperInvariant(), $parts[1])
    }
    $parts = $trimmed.Split('@')
    $domain = ''
    if ($parts.Count -gt 1) { $domain = $parts[1].Split('.')[0] }
    return ('{0}\{1}' -f $domain.ToUpperInvariant(), $parts[0])
}

function Get-LabAccountSid {
    # accountSid of lab/identity.ts: S-1-5-21-<three words of SHA-1('domain|D')>-<1100 + word of SHA-1('user|u') mod 900000>.
    param([string]$Account)
    $name = ConvertTo-LabDownLevelName -Account $Account
    $parts = $name.Split('\')
    $sha1 = [System.Security.Cryptography.SHA1]::Create()
    try {
        $domain = $sha1.ComputeHash([System.Text.Encoding]::UTF8.GetBytes('domain|' + $parts[0]))
        $user = $sha1.ComputeHash([System.Text.Encoding]::UTF8.GetBytes('user|' + $parts[1].ToLowerInvariant()))
    } finally {
        $sha1.Dispose()
    }
    $word = { param($bytes, $at) ([long]$bytes[$at] -shl 24) + ([long]$bytes[$at + 1] -shl 16) + ([long]$bytes[$at + 2] -shl 8) + [long]$bytes[$at + 3] }
    $rid = 1100 + ((& $word $user 0) % 900000)
    return ('S-1-5-21-{0}-{1}-{2}-{3}' -f (& $word $domain 0), (& $word $domain 4), (& $word $domain 8), $rid)
}

function Get-LabGroup {
    $group = $script:Machine.PSObject.Properties['remoteManagementUsers']
    if ($null -eq $group) { throw 'LabSeam: the machine has no remoteManagementUsers (not modelled for it)' }
    return $group.Value
}

function Get-LabComputerSystem {
    # The Win32_ComputerSystem properties the scripts read. DomainRole: 2 standalone server, 3 member server,
    # 5 primary domain controller.
    $role = 2
    if ($script:Machine.domainJoined) { $role = 3 }
    if ($script:Machine.isDomainController) { $role = 5 }
    return [pscustomobject]@{ Name = [string]$script:Machine.computerName; DomainRole = [uint16]$role; PartOfDomain = [bool]$script:Machine.domainJoined }
}

function Resolve-LabAccountSid {
    param([string]$Name)
    # The AD management host's machine (no domainJoined: it is the directory's own host) is in the domain.
    $joined = $script:Machine.PSObject.Properties['domainJoined']
    if ($null -ne $joined -and -not $joined.Value) { throw (New-IdentityNotMappedError) }
    $sid = Get-LabAccountSid -Account $Name
    $script:LabAccountNames[$sid] = ConvertTo-LabDownLevelName -Account $Name
    return $sid
}

function Resolve-LabSidAccount {
    param([string]$Sid)
    $group = Get-LabGroup
    if ($Sid -eq 'S-1-5-32-580') { return ('BUILTIN\' + [string]$group.groupName) }
    foreach ($member in @($group.members)) { if ([string]$member.sid -eq $Sid) { return [string]$member.account } }
    if ($script:LabAccountNames.ContainsKey($Sid)) { return [string]$script:LabAccountNames[$Sid] }
    throw (New-IdentityNotMappedError)
}

function Assert-LabGroupName {
    # The WinNT provider finds a local group by its name, in any case; another name is not a group here.
    param([string]$GroupName, [string]$Method)
    $group = Get-LabGroup
    if (-not [string]::Equals($GroupName, [string]$group.groupName, [System.StringComparison]::OrdinalIgnoreCase)) {
        throw (New-AdsiError -HResult -2147022676 -Message $WinText.AdsiGroupNotFound -Method $Method)
    }
    return $group
}

function Get-LabGroupMemberSid {
    param([string]$GroupName)
    $group = Assert-LabGroupName -GroupName $GroupName -Method 'Invoke'
    return , [string[]]@(@($group.members) | ForEach-Object { [string]$_.sid })
}

function Test-LabGroupMember {
    param($Group, [string]$Sid)
    return (@(@($Group.members) | Where-Object { [string]$_.sid -eq $Sid }).Count -gt 0)
}

function Add-LabGroupMember {
    # Add-LocalGroupMember (-Adsi: IADsGroup::Add), failing as Windows does for a member already there.
    param($Group, [string]$MemberSid, [switch]$Adsi)
    if (Test-LabGroupMember -Group $Group -Sid $MemberSid) {
        if ($Adsi) { throw (New-AdsiError -HResult -2147023518 -Message $WinText.MemberInAlias -Method 'Add') }
        throw (New-LocalAccountsError -Kind MemberExists -Verb Add -Member (Resolve-LabSidAccount -Sid $MemberSid) -Group ([string]$Group.groupName))
    }
    $account = [string]$script:LabAccountNames[$MemberSid]
    $Group.members = [object[]](@($Group.members) + @([pscustomobject]@{ sid = $MemberSid; account = $account }))
}

function Remove-LabGroupMember {
    param($Group, [string]$MemberSid, [switch]$Adsi)
    if (-not (Test-LabGroupMember -Group $Group -Sid $MemberSid)) {
        if ($Adsi) { throw (New-AdsiError -HResult -2147023519 -Message $WinText.MemberNotInAlias -Method 'Remove') }
        throw (New-LocalAccountsError -Kind MemberNotFound -Verb Remove -Member (Resolve-LabSidAccount -Sid $MemberSid) -Group ([string]$Group.groupName))
    }
    $Group.members = [object[]]@(@($Group.members) | Where-Object { [string]$_.sid -ne $MemberSid })
}

function Get-LabGroupBySid {
    param([string]$GroupSid)
    if ($GroupSid -ne 'S-1-5-32-580') { throw (New-LocalAccountsError -Kind GroupNotFound -Group $GroupSid) }
    return (Get-LabGroup)
}

function Get-LabCommand {
    # The LocalAccounts cmdlets exist from Windows Server 2016 (10.0) on; 2012 R2 (6.3) has none of them.
    param([string]$Name)
    if (@('Add-LocalGroupMember', 'Remove-LocalGroupMember') -notcontains $Name) { throw "LabSeam does not model command $Name" }
    if ([int](([string]$script:Machine.osVersion).Split('.')[0]) -ge 10) { return [pscustomobject]@{ Name = $Name; CommandType = 'Cmdlet'; Source = 'Microsoft.PowerShell.LocalAccounts' } }
}

function Get-LabEndpointSddl {
    # The SDDL of the default endpoints as Windows writes them (Server 2012 and later), with the deny
    # Disable-PSRemoting adds for NETWORK and without RM when the customer took the group out.
    $configuration = $script:Machine.sessionConfiguration
    $dacl = ''
    if ($configuration.networkDenied) { $dacl += '(D;;GA;;;NU)' }
    $dacl += '(A;;GA;;;BA)'
    if ($configuration.allowsRemoteManagementUsers) { $dacl += '(A;;GA;;;RM)' }
    $dacl += '(A;;GA;;;IU)'
    return "O:NSG:BAD:P$($dacl)S:P(AU;FA;GA;;;WD)(AU;SA;GXGW;;;WD)"
}

function Get-LabGrantSessionConfiguration {
    # The endpoints of the Enable-Remoting fake (Get-LabPSSessionConfiguration), each with its SDDL.
    $sddl = Get-LabEndpointSddl
    foreach ($endpoint in @(Get-LabPSSessionConfiguration)) {
        $endpoint | Add-Member -NotePropertyName SecurityDescriptorSddl -NotePropertyValue $sddl -Force -PassThru
    }
}

function ConvertFrom-LabSddl {
    # CommonSecurityDescriptor of an SDDL string, as far as the scripts read it: .DiscretionaryAcl with
    # .SecurityIdentifier.Value (aliases resolved), .AceQualifier and .AccessMask of each A/D entry. Exported
    # for tests that fake an endpoint's SDDL by hand.
    param([Parameter(Mandatory = $true)][string]$Sddl)
    $dacl = [regex]::Match($Sddl, 'D:[A-Z]*((?:\([^()]*\))*)')
    if (-not $dacl.Success) { throw (New-Object -TypeName System.ArgumentException -ArgumentList 'The SDDL form of a security descriptor object is invalid.') }
    $rights = @{ GA = 268435456; GX = 536870912; GW = 1073741824; GR = [long]2147483648 }
    $aces = foreach ($entry in [regex]::Matches($dacl.Groups[1].Value, '\(([^()]*)\)')) {
        $fields = $entry.Groups[1].Value.Split(';')
        if ($fields.Count -ne 6 -or @('A', 'D') -notcontains $fields[0]) { throw (New-Object -TypeName System.ArgumentException -ArgumentList 'The SDDL form of a security descriptor object is invalid.') }
        $sid = $fields[5]
        if ($script:LabSddlAliases.ContainsKey($sid)) { $sid = $script:LabSddlAliases[$sid] }
        $mask = [long]0
        foreach ($right in [regex]::Matches($fields[2], '..')) { if ($rights.ContainsKey($right.Value)) { $mask = $mask -bor $rights[$right.Value] } }
        $qualifier = 'AccessAllowed'
        if ($fields[0] -eq 'D') { $qualifier = 'AccessDenied' }
        [pscustomobject]@{ SecurityIdentifier = [pscustomobject]@{ Value = $sid }; AceQualifier = $qualifier; AccessMask = $mask }
    }
    return [pscustomobject]@{ DiscretionaryAcl = [object[]]@($aces) }
}

function Use-LabGrantSeam {
    # Called by Use-LabSeam (after the Enable-Remoting fakes): the local group, account and endpoint ACL seam.
    $script:LabAccountNames = @{}
    Set-SeamFake -Name Get-WinComputerSystem -ScriptBlock { Get-LabComputerSystem }
    Set-SeamFake -Name Resolve-WinAccountSid -ScriptBlock { param($Name) Resolve-LabAccountSid -Name $Name }
    Set-SeamFake -Name Resolve-WinSidAccount -ScriptBlock { param($Sid) Resolve-LabSidAccount -Sid $Sid }
    Set-SeamFake -Name Get-WinLocalGroupMemberSid -ScriptBlock { param($GroupName) Get-LabGroupMemberSid -GroupName $GroupName }
    Set-SeamFake -Name ConvertFrom-WinSddl -ScriptBlock { param($Sddl) ConvertFrom-LabSddl -Sddl $Sddl }
    Set-SeamFake -Name Get-WinCommand -ScriptBlock { param($Name) Get-LabCommand -Name $Name }
    Set-SeamFake -Name Get-WinPSSessionConfiguration -ScriptBlock { Get-LabGrantSessionConfiguration }
    Set-SeamFake -Name Add-WinLocalGroupMember -ScriptBlock { param($GroupSid, $MemberSid) Add-LabGroupMember -Group (Get-LabGroupBySid -GroupSid $GroupSid) -MemberSid $MemberSid }
    Set-SeamFake -Name Remove-WinLocalGroupMember -ScriptBlock { param($GroupSid, $MemberSid) Remove-LabGroupMember -Group (Get-LabGroupBySid -GroupSid $GroupSid) -MemberSid $MemberSid }
    Set-SeamFake -Name Add-WinAdsiGroupMember -ScriptBlock { param($GroupName, $MemberSid) Add-LabGroupMember -Group (Assert-LabGroupName -GroupName $GroupName -Method 'Add') -MemberSid $MemberSid -Adsi }
    Set-SeamFake -Name Remove-WinAdsiGroupMember -ScriptBlock { param($GroupName, $MemberSid) Remove-LabGroupMember -Group (Assert-LabGroupName -GroupName $GroupName -Method 'Remove') -MemberSid $MemberSid -Adsi }
    Set-SeamFake -Name Get-WinRestrictedGroupPolicy -ScriptBlock { Get-LabRestrictedGroupPolicy }
}

function Get-LabRestrictedGroupPolicy {
    # RSOP_RestrictedGroup as Get-CimInstance returns it: one entry for Remote Management Users when the lab's
    # remoteManagementUsers.restrictedBy says a GPO sets its members, none otherwise.
    $group = $script:Machine.remoteManagementUsers
    $restricted = $group.PSObject.Properties['restrictedBy']
    if ($null -eq $restricted -or $null -eq $restricted.Value) { return , @() }
    $entry = [pscustomobject]@{
        GroupName  = 'BUILTIN\' + [string]$group.groupName
        Members    = [string[]]@(@($restricted.Value.members) | ForEach-Object { [string]$_ })
        MemberOf   = $null
        GPOID      = [string]$restricted.Value.gpo
        precedence = 1
    }
    return , @($entry)
}

Export-ModuleMember -Function ConvertFrom-LabSddl, Get-LabAccountSid
#endregion

#region seam: Get-OnboardingSnapshot
# The host facts only the preflight snapshot reads: host.isEdgeTransport (the EdgeTransportRole key Exchange
# setup leaves), host.osVersion (Win32_OperatingSystem.Version; the lab has no caption) and host.psVersion.
$script:EdgeTransportKey = 'hkey_local_machine\software\microsoft\exchangeserver\v15\edgetransportrole'

function Test-LabRegistryKey {
    param([string]$Key)
    if ($Key.ToLowerInvariant() -ne $script:EdgeTransportKey) { throw "LabSeam does not model registry key $Key" }
    return [bool]$script:Machine.isEdgeTransport
}

function Use-LabSnapshotSeam {
    # Called by Use-LabSeam: the snapshot's own host facts.
    Set-SeamFake -Name Test-WinRegistryKey -ScriptBlock { param($Key) Test-LabRegistryKey -Key $Key }
    Set-SeamFake -Name Get-WinOperatingSystem -ScriptBlock { [pscustomobject]@{ Caption = ''; Version = [string]$script:Machine.osVersion } }
    Set-SeamFake -Name Get-WinPowerShellVersion -ScriptBlock { [string]$script:Machine.psVersion }
}
#endregion

#region seam: Set-TrustedHosts
# The machine's named mutexes: one process runs the script at a time here, so a wait always takes the mutex;
# .held says whether the script still holds it (Pester checks it is released on every path).
function Use-LabTrustedHostsSeam {
    Set-SeamFake -Name New-WinNamedMutex -ScriptBlock { param($Name) [pscustomobject]@{ Name = [string]$Name; held = $false; closed = $false } }
    Set-SeamFake -Name Wait-WinMutex -ScriptBlock { param($Mutex, $TimeoutMs) $Mutex.held = $true; $true }
    Set-SeamFake -Name Exit-WinMutex -ScriptBlock { param($Mutex) $Mutex.held = $false }
    Set-SeamFake -Name Close-WinMutex -ScriptBlock { param($Mutex) $Mutex.closed = $true }
}
#endregion

function Use-LabSeam {
    # Binds the seam to one machine object (New-LabHost, or ConvertFrom-JsonDocument -AsPSCustomObject of a
    # LabHost or of the worker with a
    # computerName and fqdn): the scripts run from now on read and write it. Other seam functions keep
    # the tripwires of Reset-SeamFake.
    param([Parameter(Mandatory = $true)] $Machine)
    Reset-SeamFake -ComputerName ([string]$Machine.computerName) -Fqdn ([string]$Machine.fqdn)
    $script:Machine = $Machine
    Set-SeamFake -Name Get-WinComputerName -ScriptBlock { [string]$script:Machine.computerName }
    Set-SeamFake -Name Resolve-WinDnsHostName -ScriptBlock {
        param($Name)
        if ($Name -ne $script:Machine.computerName) { throw "LabSeam: no DNS name for $Name" }
        [string]$script:Machine.fqdn
    }
    Set-SeamFake -Name Get-WinWsmanItem -ScriptBlock { param($Path) Get-LabWsmanItem -Path $Path }
    Set-SeamFake -Name Set-WinWsmanItem -ScriptBlock { param($Path, $Value) Set-LabWsmanItem -Path $Path -Value $Value }
    Set-SeamFake -Name Get-WinRegistryValue -ScriptBlock { param($Key, $Name) Get-LabRegistryValue -Key $Key -Name $Name }
    Use-LabTrustedHostsSeam
    Use-LabADSeam
    Use-LabFirewallSeam
    Use-LabRemotingSeam
    Use-LabGrantSeam
    Use-LabHttpsListenerSeam
    Use-LabConnectivitySeam
    Use-LabSnapshotSeam
}

Export-ModuleMember -Function Use-LabSeam
