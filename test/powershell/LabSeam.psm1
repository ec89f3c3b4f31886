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

function Use-LabSeam {
    # Binds the seam to one machine object (ConvertFrom-Json of a LabHost, or of the worker with a
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
}

Export-ModuleMember -Function Use-LabSeam
