#region monosync-common
# The helpers every step script shares, kept once. standaloneScript() (powershell/script-text.ts) puts this
# file in place of the '#monosync-common' marker line that follows each step script's param() block, so a
# step runs as one self-contained text: the runner sends it as one script block (nothing is dot-sourced on
# the server), and 'fleet script <step>' writes the same text to run by hand.
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$WarningPreference = 'SilentlyContinue'
# Windows PowerShell 5.1 would otherwise serialize arrays as {"value":[...],"Count":n}.
Remove-TypeData -TypeName System.Array -ErrorAction SilentlyContinue
$script:Warnings = New-Object -TypeName 'System.Collections.Generic.List[string]'
$script:Evidence = [ordered]@{}

#region seam
# THE SEAM: every Windows-only operation of the step scripts, one function each.
#
# Convention: <ApprovedVerb>-Win<Noun> (Get-Verb lists the approved verbs). A seam function performs exactly
# ONE Windows operation (a WSMan: item, a registry value, the certificate store, a local group, a firewall
# rule, a service, an AD cmdlet, Enable-PSRemoting, the machine's own name) and holds no logic: no
# decisions, no defaults, no catch. Its errors propagate unchanged, so Get-StepErrorInfo classifies the
# record Windows really produced. A step script calls these, never the Windows cmdlets or .NET APIs
# themselves, and decides everything else in its own code, which is what the tests exercise.
#
# How tests replace them (test/powershell/SeamTestKit.psm1): a GLOBAL ALIAS named like the seam function,
# pointing to a fake. The runner invokes a script as `& $sb.GetNewClosure()`, which binds it to a new module
# whose only outer scope is the global one, and PowerShell resolves aliases before functions, so the alias
# wins over the function the script defines itself. Pester's Mock cannot do this (its mock lives in the
# test's scope, which the script's module never sees). Add a function here when a step needs a new Windows
# operation; add its fake to test/powershell/LabSeam.psm1 when the lab models the state it touches.

function Get-WinComputerName {
    return [string]$env:COMPUTERNAME
}

function Resolve-WinDnsHostName {
    param([Parameter(Mandatory = $true)][string]$Name)
    return [System.Net.Dns]::GetHostEntry($Name).HostName
}

function Get-WinWsmanItem {
    # The item at a WSMan: path: a WSManConfigLeafElement with .Value and .SourceOfValue ('GPO' when a
    # Group Policy sets it). Strict mode off: the WSMan provider runs script of its own that reads $_
    # (PowerShell issue 11742), which a caller's strict mode would break.
    param([Parameter(Mandatory = $true)][string]$Path)
    Set-StrictMode -Off
    return (Get-Item -Path $Path)
}

function Set-WinWsmanItem {
    # Writes a WSMan: setting. A GPO-owned setting fails with InvalidOperationException whose message is
    # WinRM's text only ('The config setting X cannot be changed because is controlled by policies...'):
    # the provider drops the fault's code (0x8033808A).
    param([Parameter(Mandatory = $true)][string]$Path, [Parameter(Mandatory = $true)][AllowEmptyString()][string]$Value)
    Set-StrictMode -Off
    Set-Item -Path $Path -Value $Value -Force
}

function Get-WinRegistryValue {
    # A value under a key given as 'HKEY_LOCAL_MACHINE\...'; $null when the key or the value does not exist.
    # Access denied throws (SecurityException, wrapped in MethodInvocationException).
    param([Parameter(Mandatory = $true)][string]$Key, [Parameter(Mandatory = $true)][string]$Name)
    return [Microsoft.Win32.Registry]::GetValue($Key, $Name, $null)
}
#endregion seam

function Get-LocalFqdn {
    $name = ''
    try {
        $name = Get-WinComputerName
        return ([string](Resolve-WinDnsHostName -Name $name)).ToLowerInvariant()
    } catch {
        return ([string]$name).ToLowerInvariant()
    }
}

function New-StepError {
    param([string]$Code, [string]$Class, [string]$Message)
    $exception = New-Object -TypeName System.InvalidOperationException -ArgumentList $Message
    $exception.Data['MonosyncCode'] = $Code
    $exception.Data['MonosyncClass'] = $Class
    return $exception
}

function New-InvalidInput {
    param([string]$Message)
    return (New-StepError -Code 'InvalidInput' -Class 'permanent' -Message $Message)
}

function Read-MonosyncRequest {
    param([Parameter(Mandatory = $true)][string]$Encoded)
    # Values arrive as data, never as command text: base64 of UTF-8 JSON {mode, params, rollbackTo}.
    try {
        $json = [System.Text.Encoding]::UTF8.GetString([System.Convert]::FromBase64String($Encoded))
        $request = ConvertFrom-Json -InputObject $json
    } catch {
        throw (New-InvalidInput -Message 'RequestBase64 is not base64 of a UTF-8 JSON document')
    }
    # pwsh 7 unrolls a one-element JSON array into its element, so look at the text too.
    if (-not $json.TrimStart().StartsWith('{') -or $request -isnot [System.Management.Automation.PSCustomObject]) {
        throw (New-InvalidInput -Message 'RequestBase64 must hold a JSON object {mode, params, rollbackTo}')
    }
    return $request
}

function Get-RequestMember {
    # A member of a decoded JSON object, or $null when the object or the member is absent; safe under
    # Set-StrictMode. The comma keeps an array an array (return would unroll it).
    param($Object, [string]$Name)
    if ($Object -isnot [System.Management.Automation.PSCustomObject]) { return $null }
    $property = $Object.PSObject.Properties[$Name]
    if ($null -eq $property) { return $null }
    return , $property.Value
}

function Test-RequestParam {
    param($Request, [string]$Name)
    return ($null -ne (Get-RequestMember -Object $Request -Name 'params') -and @($Request.params.PSObject.Properties.Name) -contains $Name)
}

function Get-RequestString {
    # A member that must be a JSON string: $null when absent or null, InvalidInput for any other JSON type
    # (an array, a number, an object would otherwise be turned into text by [string]) and for control
    # characters and line breaks, which no value of the contract holds (powershell/command.ts refuses the
    # same in literals).
    param($Object, [string]$Name, [string]$Label = $Name)
    $value = Get-RequestMember -Object $Object -Name $Name
    if ($null -eq $value) { return $null }
    if ($value -isnot [string]) { throw (New-InvalidInput -Message "$Label must be a string") }
    if ($value -match '[\x00-\x1F\x7F\x85\u2028\u2029]') { throw (New-InvalidInput -Message "$Label holds a control character or a line break") }
    return $value
}

function Find-OrdinalMatch {
    # The element of $Set equal to $Value compared ORDINALLY ($null when none). ValidateSet, -eq, -ceq and
    # -contains compare with the culture, which ignores zero-weight characters: 'Relaxed' + NUL, U+200B or
    # U+00AD passes [ValidateSet('Relaxed')] and -ceq 'Relaxed'. Membership that guards a write uses this.
    param([string[]]$Set, [AllowNull()][string]$Value, [switch]$IgnoreCase)
    $comparison = [System.StringComparison]::Ordinal
    if ($IgnoreCase) { $comparison = [System.StringComparison]::OrdinalIgnoreCase }
    foreach ($item in $Set) {
        if ([string]::Equals($item, $Value, $comparison)) { return $item }
    }
    return $null
}

function Get-RequestStringList {
    # A member that must be a JSON array of strings (null elements refused); @() when absent or null.
    # Control characters and line breaks are refused as in Get-RequestString: a ValidatePattern ending in
    # '$' accepts a value with one trailing newline ('$' matches before it).
    param($Object, [string]$Name, [string]$Label = $Name)
    $value = Get-RequestMember -Object $Object -Name $Name
    if ($null -eq $value) { return , [string[]]@() }
    if ($value -isnot [System.Array]) { throw (New-InvalidInput -Message "$Label must be an array of strings") }
    foreach ($item in $value) {
        if ($item -isnot [string]) { throw (New-InvalidInput -Message "$Label must be an array of strings") }
        if ($item -match '[\x00-\x1F\x7F\x85\u2028\u2029]') { throw (New-InvalidInput -Message "$Label holds a control character or a line break") }
    }
    return , [string[]]$value
}

function ConvertFrom-RollbackJson {
    # -RollbackToJson of a run by hand.
    param([string]$Json)
    try {
        $state = ConvertFrom-Json -InputObject $Json
    } catch {
        throw (New-InvalidInput -Message 'RollbackToJson is not a JSON document')
    }
    if (-not $Json.TrimStart().StartsWith('{')) { throw (New-InvalidInput -Message 'RollbackToJson must be a JSON object') }
    return $state
}

function Assert-RollbackState {
    # A rollback acts only on the complete saved state of the step ('before' of the earlier apply): every
    # field of the step's state schema present with its JSON type. Anything else is refused, never guessed.
    param($State, [string]$Script, [string[]]$Strings = @(), [string[]]$Booleans = @())
    $fields = @($Strings) + @($Booleans)
    $problem = "$Script -Mode rollback needs the step's earlier state (rollbackTo with $($fields -join ', '))"
    if ($State -isnot [System.Management.Automation.PSCustomObject]) { throw (New-InvalidInput -Message $problem) }
    foreach ($name in $Strings) {
        if ((Get-RequestMember -Object $State -Name $name) -isnot [string]) { throw (New-InvalidInput -Message $problem) }
    }
    foreach ($name in $Booleans) {
        if ((Get-RequestMember -Object $State -Name $name) -isnot [bool]) { throw (New-InvalidInput -Message $problem) }
    }
}

function ConvertTo-StepCode {
    # The failure code of a numeric Win32 error, HRESULT or WSMan fault code, as domain/failures.ts knows
    # them: 5 and 0x80070005 -> '5', HRESULT_FROM_WIN32 (0x8007xxxx) -> the Win32 number ('1326'),
    # 0x8033808A (a GPO-controlled WinRM setting) -> 'PolicyControlled', other codes -> '0x%08X'.
    # (Decimal literals: Windows PowerShell's 0x...L long literals trip the tree-sitter check.)
    param([long]$Number)
    $value = $Number -band 4294967295
    if ($value -eq 2150858890) { return 'PolicyControlled' }
    if ($value -gt 0 -and $value -lt 65536) { return [string]$value }
    if (($value -band 4294901760) -eq 2147942400) { return [string]($value -band 65535) }
    return ('0x{0:X8}' -f $value)
}

function Get-StepErrorClass {
    param([string]$Code)
    if ($Code -eq 'PolicyControlled') { return 'policy' }
    if (@('5', '1326', '1909') -contains $Code) { return 'auth' }
    if ($Code -like '0x8033*' -or $Code -eq '995') { return 'transient' }
    return 'permanent'
}

function Get-StepErrorInfo {
    param([System.Management.Automation.ErrorRecord]$Record)
    $exception = $Record.Exception
    while ($exception -is [System.Management.Automation.MethodInvocationException] -and $null -ne $exception.InnerException) {
        $exception = $exception.InnerException
    }
    $type = $exception.GetType().FullName
    $fqid = [string]$Record.FullyQualifiedErrorId
    $message = [string]$exception.Message
    $category = [string]$Record.CategoryInfo.Category
    $errorCode = 0L
    $errorCodeProperty = $exception.PSObject.Properties['ErrorCode']
    if ($null -ne $errorCodeProperty) { [void][long]::TryParse([string]$errorCodeProperty.Value, [ref]$errorCode) }
    $nativeCode = 0L
    $accessDenied = $false
    for ($inner = $exception; $null -ne $inner; $inner = $inner.InnerException) {
        if ($inner -is [System.UnauthorizedAccessException] -or $inner -is [System.Security.SecurityException] -or $inner.HResult -eq -2147024891) { $accessDenied = $true }
        if ($inner -is [System.ComponentModel.Win32Exception] -and $nativeCode -eq 0) { $nativeCode = [long]$inner.NativeErrorCode }
    }
    # What real records carry (see test/powershell/MonosyncCommon.Tests.ps1 for each one):
    # - WSMan: provider (Get-Item/Set-Item WSMan:\...): InvalidOperationException with WinRM's message text
    #   only; the fault's code is dropped. FQID 'System.InvalidOperationException,...SetItemCommand'.
    # - WSMan cmdlets (Test-WSMan, Set-WSManInstance): the whole fault XML as message, Code in decimal
    #   (<f:WSManFault ... Code="2150858770" ...>).
    # - CIM and CDXML cmdlets (NetSecurity, CimCmdlets): FQID 'HRESULT 0x80070005,<command>' or
    #   'Windows System Error 5,<command>', category PermissionDenied.
    # - Remoting: PSRemotingTransportException with .ErrorCode; .NET and COM: HResult; Win32: NativeErrorCode.
    $faultCode = [regex]::Match($message, '<f:WSManFault\b[^>]*\bCode="(\d{1,10})"')
    $fqidHresult = [regex]::Match($fqid, '^HRESULT 0x([0-9A-Fa-f]{8})\b')
    $fqidWin32 = [regex]::Match($fqid, '^Windows System Error (\d{1,10})\b')
    $winrmCode = [regex]::Match($message, '0x8033[0-9A-Fa-f]{4}')
    # Stable identifiers first (codes, exception types, error ids); en-US message text last.
    if ($exception.Data.Contains('MonosyncCode')) {
        $code = [string]$exception.Data['MonosyncCode']; $class = [string]$exception.Data['MonosyncClass']
    } elseif ($exception -is [System.Management.Automation.ValidationMetadataException] -or
        $exception -is [System.Management.Automation.ParameterBindingException]) {
        $code = 'InvalidInput'; $class = 'permanent'
    } elseif ($type -eq 'Microsoft.ActiveDirectory.Management.ADIdentityNotFoundException') {
        $code = 'ADIdentityNotFound'; $class = 'permanent'
    } elseif ($type -eq 'Microsoft.ActiveDirectory.Management.ADServerDownException') {
        $code = 'ADServerDown'; $class = 'transient'
    } elseif ($errorCode -eq 8344 -or $message -like '*Insufficient access rights*') {
        $code = '8344'; $class = 'permanent'
    } elseif ($fqid -like 'Modules_ModuleNotFound*') {
        $code = 'ModuleMissing'; $class = 'precondition'
    } elseif ($exception -is [System.Management.Automation.Remoting.PSRemotingTransportException] -and $errorCode -ne 0) {
        $code = ConvertTo-StepCode -Number $errorCode; $class = Get-StepErrorClass -Code $code
        if ($class -eq 'permanent') { $class = 'transient' }
    } elseif ($faultCode.Success) {
        $code = ConvertTo-StepCode -Number ([long]$faultCode.Groups[1].Value); $class = Get-StepErrorClass -Code $code
    } elseif ($fqidHresult.Success) {
        $code = ConvertTo-StepCode -Number ([Convert]::ToInt64($fqidHresult.Groups[1].Value, 16)); $class = Get-StepErrorClass -Code $code
    } elseif ($fqidWin32.Success) {
        $code = ConvertTo-StepCode -Number ([long]$fqidWin32.Groups[1].Value); $class = Get-StepErrorClass -Code $code
    } elseif ($message -like '*cannot be changed because is controlled by policies*') {
        # en-US text of ERROR_WSMAN_CONFIG_CANNOT_CHANGE_GPO_CONTROLLED_SETTING, all the WSMan: provider keeps.
        $code = 'PolicyControlled'; $class = 'policy'
    } elseif ($accessDenied -or $nativeCode -eq 5 -or $fqid -like 'AccessDenied*' -or $category -eq 'PermissionDenied' -or $message -like 'Access is denied*') {
        $code = '5'; $class = 'auth'
    } elseif ($winrmCode.Success) {
        $code = $winrmCode.Value; $class = 'transient'
    } elseif ($nativeCode -ne 0) {
        $code = ConvertTo-StepCode -Number $nativeCode; $class = Get-StepErrorClass -Code $code
    } elseif ($exception -is [System.Security.Principal.IdentityNotMappedException]) {
        $code = 'PrincipalNotFound'; $class = 'permanent'
    } elseif ($exception -is [System.TimeoutException]) {
        $code = 'Timeout'; $class = 'transient'
    } elseif ($exception -is [System.Runtime.InteropServices.COMException]) {
        $code = ConvertTo-StepCode -Number ([long]$exception.HResult); $class = Get-StepErrorClass -Code $code
    } else {
        $code = 'PowerShellError'; $class = 'permanent'
    }
    return [ordered]@{ class = $class; code = $code; message = $message; fqid = $fqid; exceptionType = $type }
}

function Write-StepResult {
    param([string]$StepMode, [bool]$Ok = $true, [bool]$Compliant, [bool]$Changed, $Before, $After, $ErrorInfo = $null)
    $envelope = [ordered]@{
        schema    = 'monosync.onboard.step/v1'
        script    = $script:ScriptName
        target    = $script:Target
        mode      = $StepMode
        ok        = $Ok
        compliant = $Compliant
        changed   = $Changed
        before    = $Before
        after     = $After
        evidence  = $script:Evidence
        warnings  = [string[]]$script:Warnings.ToArray()
    }
    if ($null -ne $ErrorInfo) { $envelope['error'] = $ErrorInfo }
    # One document on one line: the runner reads the last JSON line of the output.
    ConvertTo-Json -InputObject $envelope -Compress -Depth 8
}

function Write-StepFailure {
    param([System.Management.Automation.ErrorRecord]$Record, [string]$StepMode)
    Write-StepResult -StepMode $StepMode -Ok $false -Compliant $false -Changed $false -Before $null -After $null -ErrorInfo (Get-StepErrorInfo -Record $Record)
}
#endregion monosync-common
