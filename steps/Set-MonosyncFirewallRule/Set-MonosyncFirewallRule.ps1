<#
.SYNOPSIS
    Creates or corrects the inbound firewall rule that admits WinRM from the Monosync servers (step 4).
.DESCRIPTION
    One named rule (Monosync-WinRM-In): inbound, allow, TCP, the given local ports, the given remote
    addresses, the given profiles (the fleet's default: Domain only). Windows has no built-in rule for 5986.
    Windows' own WINRM-HTTP-In-TCP rule (5985) is read and reported in the state (builtInHttpRule), with a
    warning when it admits more than the Monosync addresses; it is the customer's and is never changed. An existing rule of that name is corrected in place
    (Set-NetFirewallRule), never recreated; one that is not an inbound TCP allow rule is made one. Warns
    when Windows Firewall is off or a Group Policy stops local rules from applying (the rule is still
    written). Network firewalls between the sites are outside this host: that is an operator ticket.
    The state reports the rule's local ports as numbers: an empty list means Any; a port Windows reports
    otherwise (a range, a keyword such as RPC) is left out with a warning.
.PARAMETER Mode
    plan, apply or rollback (rollback restores the earlier rule, or removes the one this step created, and
    needs that saved state).
.PARAMETER RuleName
    Always Monosync-WinRM-In.
.PARAMETER Ports
    5985 and/or 5986.
.PARAMETER RemoteAddresses
    Source IP addresses (IPv4 or IPv6), or 'Any' alone.
.PARAMETER Profiles
    The firewall profiles the rule applies to: Domain, Private and/or Public.
.PARAMETER RequestBase64
    Base64 of UTF-8 JSON {mode, params, rollbackTo}; how the Monosync worker passes values.
.PARAMETER RollbackToJson
    For rollback by hand: the earlier 'before' state as JSON,
    {"rule":{"name":"Monosync-WinRM-In","enabled":true,"localPorts":[5986],"remoteAddresses":["10.0.0.5"],"profiles":["Domain"]}}
    or {"rule":null} (there was no rule: rollback removes it).
.EXAMPLE
    .\Set-MonosyncFirewallRule.ps1 -Mode plan -RuleName Monosync-WinRM-In -Ports 5986 -RemoteAddresses 10.0.0.5 -Profiles Domain
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
    # \z, not $: '$' also matches before a trailing newline.
    [ValidatePattern('^(?:Any|[0-9]{1,3}(?:\.[0-9]{1,3}){3}|[0-9A-Fa-f:]{2,39})\z')]
    [string[]]$RemoteAddresses,
    [ValidateSet('Domain', 'Private', 'Public')]
    [string[]]$Profiles,
    [string]$RollbackToJson
)

#monosync-common: the helpers of powershell/MonosyncCommon.ps1 go here (fleet script <step> writes the whole script)

$script:ScriptName = 'Set-MonosyncFirewallRule'
$script:Target = Get-LocalFqdn
$Description = 'WinRM from the Monosync servers (managed by Monosync onboarding)'
$BuiltInHttpRuleName = 'WINRM-HTTP-In-TCP'
# Windows' profile names in the order it reports them ('Domain, Private'); 'Any' is all of them.
$ProfileNames = @('Domain', 'Private', 'Public')
# What a saved rule's remote address (what rollback writes back) can be, as Windows reports it: an address,
# a subnet (10.0.0.0/255.255.255.0, fe80::/64), a range (10.0.0.1-10.0.0.9), Any or one of the keywords of
# New-NetFirewallRule -RemoteAddress (LocalSubnet, Intranet4, ...); never quotes, spaces, wildcards or control
# characters. steps/Set-MonosyncFirewallRule/lab.ts holds the same pattern.
$SavedAddressPattern = '^(?:[0-9A-Fa-f.:]{2,45}(?:/[0-9.]{1,15})?(?:-[0-9A-Fa-f.:]{2,45})?|(?:Any|LocalSubnet|DNS|DHCP|WINS|DefaultGateway|Internet|Intranet|IntranetRemoteAccess|PlayToDevice)[46]?)\z'

function Test-IPv4 {
    # As domain/validators.ts: four decimal octets 0-255 without leading zeros ([0-9]: \d also matches
    # other scripts' digits in .NET).
    param([string]$Value)
    return ($Value -cmatch '^(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(?:\.(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}\z')
}

function Test-IPv6 {
    # As domain/validators.ts: hex groups of at most four digits, eight of them or fewer around one '::'.
    param([string]$Value)
    if ($Value -cnotmatch '^[0-9A-Fa-f:]+\z' -or -not $Value.Contains(':')) { return $false }
    $halves = $Value -split '::'
    if ($halves.Count -gt 2) { return $false }
    $groups = @($Value -split ':' | Where-Object { $_ -ne '' })
    foreach ($group in $groups) { if ($group.Length -gt 4) { return $false } }
    if ($halves.Count -eq 2) { return ($groups.Count -lt 8) }
    return ($groups.Count -eq 8)
}

function Assert-RemoteAddressList {
    # The contract's RemoteAddresses: at least one IP address, or 'Any' alone (spelled so).
    param([string[]]$Addresses)
    if (@($Addresses).Count -eq 0) { throw (New-InvalidInput -Message 'RemoteAddresses needs at least one address, or Any') }
    if ($null -ne (Find-OrdinalMatch -Set $Addresses -Value 'Any')) {
        if (@($Addresses).Count -ne 1) { throw (New-InvalidInput -Message 'RemoteAddresses: Any stands alone') }
        return
    }
    foreach ($address in $Addresses) {
        if (-not ((Test-IPv4 -Value $address) -or (Test-IPv6 -Value $address))) {
            throw (New-InvalidInput -Message 'RemoteAddresses must be IP addresses (IPv4 like 10.0.0.5, or IPv6), or Any alone')
        }
    }
}

function Get-UniqueProfiles {
    # The requested profiles in Windows' order, each once; only Domain, Private and Public, spelled so.
    param([string[]]$Requested, [string]$Label = 'Profiles')
    if (@($Requested).Count -eq 0) { throw (New-InvalidInput -Message "$Label needs at least one of Domain, Private and Public") }
    foreach ($name in $Requested) {
        if ($null -eq (Find-OrdinalMatch -Set $ProfileNames -Value $name)) { throw (New-InvalidInput -Message "$Label may hold only Domain, Private and Public") }
    }
    $list = New-Object -TypeName 'System.Collections.Generic.List[string]'
    foreach ($name in $ProfileNames) { if ($null -ne (Find-OrdinalMatch -Set $Requested -Value $name)) { $list.Add($name) } }
    return , [string[]]$list.ToArray()
}

function Get-ReportedProfiles {
    # A rule's Profile as Windows reports it ('Domain, Private', or 'Any' for every profile) as a list.
    param($Rule)
    $parts = @(([string]$Rule.Profile) -split ',' | ForEach-Object { $_.Trim() })
    $list = New-Object -TypeName 'System.Collections.Generic.List[string]'
    foreach ($name in $ProfileNames) { if ($null -ne (Find-OrdinalMatch -Set $parts -Value $name -IgnoreCase)) { $list.Add($name) } }
    if ($list.Count -eq 0) { $list.Add('Any') }
    return , [string[]]$list.ToArray()
}

function Test-JsonInteger {
    # ConvertFrom-Json gives Int32 (Windows PowerShell) or Int64 (pwsh) for a JSON integer; a fraction,
    # a boolean or a string is not one.
    param($Value)
    return ($Value -is [int] -or $Value -is [long])
}

function Get-RequestPortList {
    # A member that must be a JSON array of port numbers from $Allowed (all of 1-65535 when none given).
    # @() when absent or null.
    param($Object, [string]$Name, [string]$Label = $Name, [int[]]$Allowed = @())
    $value = Get-RequestMember -Object $Object -Name $Name
    if ($null -eq $value) { return , [int[]]@() }
    if ($value -isnot [System.Array]) { throw (New-InvalidInput -Message "$Label must be an array of port numbers") }
    $ports = New-Object -TypeName 'System.Collections.Generic.List[int]'
    foreach ($item in $value) {
        if (-not (Test-JsonInteger -Value $item) -or $item -lt 1 -or $item -gt 65535) { throw (New-InvalidInput -Message "$Label must be an array of port numbers") }
        if ($Allowed.Count -gt 0 -and $Allowed -notcontains [int]$item) { throw (New-InvalidInput -Message "$Label may hold only $($Allowed -join ' and ')") }
        $ports.Add([int]$item)
    }
    return , [int[]]$ports.ToArray()
}

function Get-UniquePorts {
    # Sorted, each once.
    param([int[]]$Ports)
    $set = New-Object -TypeName 'System.Collections.Generic.SortedSet[int]'
    foreach ($port in $Ports) { [void]$set.Add($port) }
    $list = New-Object -TypeName 'System.Collections.Generic.List[int]'
    foreach ($port in $set) { $list.Add($port) }
    return , [int[]]$list.ToArray()
}

function Get-UniqueAddresses {
    # In their order, each once (case-insensitive: an IPv6 address may be written in either case).
    param([string[]]$Addresses)
    $seen = New-Object -TypeName 'System.Collections.Generic.HashSet[string]' -ArgumentList ([System.StringComparer]::OrdinalIgnoreCase)
    $list = New-Object -TypeName 'System.Collections.Generic.List[string]'
    foreach ($address in $Addresses) { if ($seen.Add($address)) { $list.Add($address) } }
    return , [string[]]$list.ToArray()
}

function Test-SameSet {
    param([string[]]$Left, [string[]]$Right)
    $a = New-Object -TypeName 'System.Collections.Generic.HashSet[string]' -ArgumentList ([System.StringComparer]::OrdinalIgnoreCase)
    $b = New-Object -TypeName 'System.Collections.Generic.HashSet[string]' -ArgumentList ([System.StringComparer]::OrdinalIgnoreCase)
    foreach ($item in $Left) { [void]$a.Add($item) }
    foreach ($item in $Right) { [void]$b.Add($item) }
    return $a.SetEquals($b)
}

function Get-SavedRule {
    # The rule of a rollback's saved state (the 'before' of the earlier run): $null when there was none.
    # Anything but the complete state, with values Windows could have reported, is refused, never guessed.
    param($State)
    $problem = "$($script:ScriptName) -Mode rollback needs the step's earlier state (rollbackTo with rule: null, or name, enabled, localPorts, remoteAddresses, profiles)"
    if ($State -isnot [System.Management.Automation.PSCustomObject] -or $null -eq $State.PSObject.Properties['rule']) { throw (New-InvalidInput -Message $problem) }
    $rule = $State.rule
    if ($null -eq $rule) { return $null }
    if ($rule -isnot [System.Management.Automation.PSCustomObject]) { throw (New-InvalidInput -Message $problem) }
    Assert-RollbackState -State $rule -Script $script:ScriptName -Strings @('name') -Booleans @('enabled')
    if ($null -eq (Find-OrdinalMatch -Set @($RuleName) -Value ([string]$rule.name) -IgnoreCase)) { throw (New-InvalidInput -Message "rollbackTo.rule.name must be $RuleName") }
    if ($null -eq (Get-RequestMember -Object $rule -Name 'localPorts') -or $null -eq (Get-RequestMember -Object $rule -Name 'remoteAddresses') -or $null -eq (Get-RequestMember -Object $rule -Name 'profiles')) { throw (New-InvalidInput -Message $problem) }
    $ports = Get-RequestPortList -Object $rule -Name 'localPorts' -Label 'rollbackTo.rule.localPorts'
    $addresses = Get-RequestStringList -Object $rule -Name 'remoteAddresses' -Label 'rollbackTo.rule.remoteAddresses'
    if ($addresses.Count -eq 0) { throw (New-InvalidInput -Message 'rollbackTo.rule.remoteAddresses is empty: Windows reports Any, never no address') }
    foreach ($address in $addresses) {
        if ($address -cnotmatch $SavedAddressPattern) { throw (New-InvalidInput -Message 'rollbackTo.rule.remoteAddresses holds a value that is not a firewall address') }
    }
    # As Windows reports them: Domain, Private and/or Public, or Any alone.
    $savedProfiles = Get-RequestStringList -Object $rule -Name 'profiles' -Label 'rollbackTo.rule.profiles'
    if ($savedProfiles.Count -eq 1 -and $null -ne (Find-OrdinalMatch -Set @('Any') -Value $savedProfiles[0] -IgnoreCase)) { $savedProfiles = [string[]]@('Any') }
    else { $savedProfiles = Get-UniqueProfiles -Requested $savedProfiles -Label 'rollbackTo.rule.profiles' }
    return [ordered]@{ enabled = [bool]$rule.enabled; localPorts = $ports; remoteAddresses = $addresses; profiles = $savedProfiles }
}

function Test-NotFoundRecord {
    # The CDXML cmdlets' "No MSFT_NetFirewallRule objects found with property 'Name' equal to ..." (en-US;
    # matched by its error id and category, never by the text).
    param([System.Management.Automation.ErrorRecord]$Record)
    return ([string]$Record.CategoryInfo.Category -eq 'ObjectNotFound' -and [string]$Record.FullyQualifiedErrorId -like 'CmdletizationQuery_NotFound*')
}

function Read-BuiltInHttpRule {
    # Windows' own WINRM-HTTP-In-TCP as found ($null when there is none): reported, never changed.
    $rule = $null
    try {
        $rule = Get-WinFirewallRule -Name $BuiltInHttpRuleName
    } catch {
        if (-not (Test-NotFoundRecord -Record $_)) { throw }
    }
    if ($null -eq $rule) { return $null }
    $addresses = New-Object -TypeName 'System.Collections.Generic.List[string]'
    foreach ($address in @((Get-WinFirewallAddressFilter -Rule $rule).RemoteAddress)) {
        if ([string]$address -ne '') { $addresses.Add([string]$address) }
    }
    return [ordered]@{ enabled = ([string]$rule.Enabled -eq 'True'); remoteAddresses = [string[]]$addresses.ToArray(); profiles = (Get-ReportedProfiles -Rule $rule) }
}

function Add-BuiltInRuleWarning {
    # Windows' own rule admitting more than the Monosync addresses: said, not changed (the customer's).
    param($BuiltIn, [string[]]$Monosync)
    if ($null -eq $BuiltIn -or -not $BuiltIn.enabled) { return }
    $wider = @($BuiltIn.remoteAddresses | Where-Object { $null -eq (Find-OrdinalMatch -Set $Monosync -Value $_ -IgnoreCase) })
    if ($wider.Count -eq 0) { return }
    $script:Warnings.Add("Windows' own rule $BuiltInHttpRuleName admits WinRM over HTTP (5985) from $($wider -join ', ') on the $($BuiltIn.profiles -join ', ') profile(s), wider than the Monosync servers; it is left as it is: narrow or disable it by hand or by GPO if only Monosync should connect")
}

function Read-Firewall {
    # The state as the contract holds it ({rule, builtInHttpRule}), and whether the rule is of the kind this
    # step owns (inbound, allow, TCP), which the state does not carry.
    $builtIn = Read-BuiltInHttpRule
    $rule = $null
    try {
        $rule = Get-WinFirewallRule -Name $RuleName
    } catch {
        if (-not (Test-NotFoundRecord -Record $_)) { throw }
    }
    if ($null -eq $rule) { return @{ State = [ordered]@{ rule = $null; builtInHttpRule = $builtIn }; Conforms = $false } }
    $portFilter = Get-WinFirewallPortFilter -Rule $rule
    $addressFilter = Get-WinFirewallAddressFilter -Rule $rule
    $ports = New-Object -TypeName 'System.Collections.Generic.List[int]'
    foreach ($port in @($portFilter.LocalPort)) {
        $text = [string]$port
        $number = 0
        if ([int]::TryParse($text, [System.Globalization.NumberStyles]::None, [System.Globalization.CultureInfo]::InvariantCulture, [ref]$number) -and $number -ge 1 -and $number -le 65535) {
            $ports.Add($number)
        } elseif ($text -ne '' -and $text -ne 'Any') {
            $script:Warnings.Add("rule $RuleName has local port '$text', which is not one port number: the reported state leaves it out")
        }
    }
    $ports.Sort()
    $addresses = New-Object -TypeName 'System.Collections.Generic.List[string]'
    foreach ($address in @($addressFilter.RemoteAddress)) {
        if ([string]$address -ne '') { $addresses.Add([string]$address) }
    }
    $conforms = ([string]$rule.Direction -eq 'Inbound' -and [string]$rule.Action -eq 'Allow' -and @('TCP', '6') -contains [string]$portFilter.Protocol)
    if (-not $conforms) {
        $script:Warnings.Add("rule $RuleName is not an inbound TCP allow rule ($($rule.Direction), $($rule.Action), $($portFilter.Protocol)); apply makes it one")
    }
    $state = [ordered]@{ rule = [ordered]@{
            name            = [string]$rule.Name
            enabled         = ([string]$rule.Enabled -eq 'True')
            localPorts      = [int[]]$ports.ToArray()
            remoteAddresses = [string[]]$addresses.ToArray()
            profiles        = (Get-ReportedProfiles -Rule $rule)
        }
        builtInHttpRule = $builtIn
    }
    return @{ State = $state; Conforms = $conforms }
}

function Test-RuleMatches {
    param($Read, [bool]$Enabled, [int[]]$WantPorts, [string[]]$WantAddresses, [string[]]$WantProfiles)
    $rule = $Read.State.rule
    if ($null -eq $rule) { return $false }
    return ($Read.Conforms -and $rule.enabled -eq $Enabled -and (Test-SameSet -Left $rule.localPorts -Right $WantPorts) -and (Test-SameSet -Left $rule.remoteAddresses -Right $WantAddresses) -and (Test-SameSet -Left $rule.profiles -Right $WantProfiles))
}

function Write-Rule {
    # Creates the rule or corrects it in place; no local port means Any (what an empty saved list stands for).
    param($Read, [bool]$Enabled, [int[]]$WantPorts, [string[]]$WantAddresses, [string[]]$WantProfiles)
    $enabledText = 'False'
    if ($Enabled) { $enabledText = 'True' }
    $localPorts = [string[]]@('Any')
    if ($WantPorts.Count -gt 0) { $localPorts = [string[]]@($WantPorts | ForEach-Object { [string]$_ }) }
    if ($null -eq $Read.State.rule) {
        $null = New-WinFirewallRule -Name $RuleName -DisplayName $RuleName -Description $Description -Direction 'Inbound' -Action 'Allow' -Protocol 'TCP' -LocalPort $localPorts -RemoteAddress $WantAddresses -FirewallProfile ($WantProfiles -join ', ') -Enabled $enabledText
    } else {
        Set-WinFirewallRule -Name $RuleName -Direction 'Inbound' -Action 'Allow' -Protocol 'TCP' -LocalPort $localPorts -RemoteAddress $WantAddresses -FirewallProfile ($WantProfiles -join ', ') -Enabled $enabledText
    }
}

function Add-ProfileWarnings {
    foreach ($fwProfile in @(Get-WinFirewallProfile)) {
        if ([string]$fwProfile.Enabled -eq 'False') { $script:Warnings.Add("Windows Firewall is off on the $($fwProfile.Name) profile: the rule applies once it is on") }
        if ([string]$fwProfile.AllowLocalFirewallRules -eq 'False') { $script:Warnings.Add("Group Policy ignores local firewall rules on the $($fwProfile.Name) profile (AllowLocalFirewallRules False): add the rule to the GPO") }
    }
}

try {
    $step = Read-StepRequest -Encoded $RequestBase64 -Mode $Mode -RollbackToJson $RollbackToJson
    $Mode = $step.Mode
    $RollbackTo = $step.RollbackTo
    $wantPorts = [int[]]@()
    $wantAddresses = [string[]]@()
    $wantProfiles = [string[]]@()
    $params = Get-MonosyncRequestParams -Step $step -Names @('RuleName', 'Ports', 'RemoteAddresses', 'Profiles')
    if ($null -ne $params) {
        # Assigning re-runs the parameter's ValidateSet: a bad rule name throws InvalidInput here.
        $RuleName = Get-RequestString -Object $params -Name 'RuleName'
        $wantPorts = Get-RequestPortList -Object $params -Name 'Ports' -Allowed @(5985, 5986)
        $wantAddresses = Get-RequestStringList -Object $params -Name 'RemoteAddresses'
        $wantProfiles = Get-RequestStringList -Object $params -Name 'Profiles'
    } else {
        if ($null -ne $Ports) { $wantPorts = [int[]]$Ports }
        if ($null -ne $RemoteAddresses) { $wantAddresses = [string[]]$RemoteAddresses }
        if ($null -ne $Profiles) { $wantProfiles = [string[]]$Profiles }
    }
    if ($null -eq (Find-OrdinalMatch -Set @('Monosync-WinRM-In') -Value $RuleName)) { throw (New-InvalidInput -Message 'RuleName must be Monosync-WinRM-In') }
    # The worker always sends Ports and RemoteAddresses; by hand, a rollback needs only the saved state.
    if ($RequestBase64 -or $Mode -ne 'rollback') {
        if ($wantPorts.Count -eq 0) { throw (New-InvalidInput -Message 'Ports needs at least one of 5985 and 5986') }
        Assert-RemoteAddressList -Addresses $wantAddresses
        $wantProfiles = Get-UniqueProfiles -Requested $wantProfiles
    }

    if ($Mode -eq 'rollback') {
        # Never act without the saved state: without it a rollback would remove the rule (rule: null).
        $saved = Get-SavedRule -State $RollbackTo
        Add-ProfileWarnings
        $read = Read-Firewall
        $before = $read.State
        Add-BuiltInRuleWarning -BuiltIn $before.builtInHttpRule -Monosync $wantAddresses
        $changed = $false
        if ($null -eq $saved) {
            if ($null -ne $before.rule) {
                try {
                    Remove-WinFirewallRule -Name $RuleName
                } catch {
                    # Removed meanwhile: what the rollback wants.
                    if (-not (Test-NotFoundRecord -Record $_)) { throw }
                }
                $changed = $true
            }
        } else {
            $ports = Get-UniquePorts -Ports $saved.localPorts
            $addresses = Get-UniqueAddresses -Addresses $saved.remoteAddresses
            if (-not (Test-RuleMatches -Read $read -Enabled $saved.enabled -WantPorts $ports -WantAddresses $addresses -WantProfiles $saved.profiles)) {
                Write-Rule -Read $read -Enabled $saved.enabled -WantPorts $ports -WantAddresses $addresses -WantProfiles $saved.profiles
                $changed = $true
            }
        }
        $after = $before
        if ($changed) { $after = (Read-Firewall).State }
        Write-StepResult -StepMode $Mode -Compliant (-not $changed) -Changed $changed -Before $before -After $after
        return
    }

    $ports = Get-UniquePorts -Ports $wantPorts
    $addresses = Get-UniqueAddresses -Addresses $wantAddresses
    Add-ProfileWarnings
    $read = Read-Firewall
    $before = $read.State
    Add-BuiltInRuleWarning -BuiltIn $before.builtInHttpRule -Monosync $addresses
    $compliant = Test-RuleMatches -Read $read -Enabled $true -WantPorts $ports -WantAddresses $addresses -WantProfiles $wantProfiles
    if ($compliant -or $Mode -eq 'plan') {
        $predicted = [ordered]@{ rule = [ordered]@{ name = $RuleName; enabled = $true; localPorts = $ports; remoteAddresses = $addresses; profiles = $wantProfiles }; builtInHttpRule = $before.builtInHttpRule }
        if ($compliant) { $predicted = $before }
        Write-StepResult -StepMode $Mode -Compliant $compliant -Changed (-not $compliant) -Before $before -After $predicted
        return
    }
    Write-Rule -Read $read -Enabled $true -WantPorts $ports -WantAddresses $addresses -WantProfiles $wantProfiles
    Write-StepResult -StepMode $Mode -Compliant $false -Changed $true -Before $before -After (Read-Firewall).State
} catch {
    Write-StepFailure -Record $_ -StepMode $Mode
}
