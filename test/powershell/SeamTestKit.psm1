# The shared kit of the step scripts' PowerShell tests: it assembles a step's standalone script (exactly what
# the runner sends), runs it the way the runner does, replaces the seam functions of
# powershell/MonosyncCommon.ps1 with fakes, builds the error records Windows really produces, and checks
# every envelope a test file saw against the zod schemas the activities use.
#
# How a seam function is replaced (verified in real pwsh by test/powershell/SeamTestKit.Tests.ps1):
#   The runner calls `& ([scriptblock]::Create($text)).GetNewClosure() -RequestBase64 ...`. GetNewClosure
#   binds the script to a new dynamic module whose only outer scope is the GLOBAL scope. PowerShell looks
#   up aliases before functions, so a global alias named like a seam function (Get-WinWsmanItem) beats the
#   function the script defines for itself. Set-SeamFake installs such an alias, pointing to a global
#   wrapper function with the seam function's own param() block (a call with the wrong parameters fails
#   here as it would on Windows) that records the call and runs the fake. Pester's Mock does NOT work: its
#   mock lives in the test's own scope, which the script's module never sees, and a command the script
#   defines only while it runs cannot be mocked beforehand.
#
#   Reset-SeamFake puts every seam function behind a tripwire that throws, except the machine's own name,
#   so a test never touches the Windows it may run on: a seam function the test did not fake fails loudly.
#
# Example:
#   Import-Module (Join-Path $PSScriptRoot '../../test/powershell/SeamTestKit.psm1') -Force
#   Reset-SeamFake
#   Set-SeamFake -Name Get-WinWsmanItem -ScriptBlock { param($Path) [pscustomobject]@{ Value = 'Relaxed'; SourceOfValue = $null } }
#   Set-SeamFake -Name Set-WinWsmanItem -ScriptBlock { param($Path, $Value) throw (New-WsmanProviderError -Command SetItem -Message $WinText.CbtPolicy) }
#   $envelope = Invoke-StepScript -Name Set-CbtHardening -Request @{ mode = 'apply'; params = @{ Level = 'Strict' }; rollbackTo = $null } | ConvertFrom-StepEnvelope -Script Set-CbtHardening
#   @(Get-SeamCall -Name Set-WinWsmanItem).Count | Should -Be 1

Set-StrictMode -Version Latest

$script:RepoRoot = (Resolve-Path -LiteralPath (Join-Path -Path $PSScriptRoot -ChildPath '../..')).Path
$script:CommonFile = Join-Path -Path $script:RepoRoot -ChildPath 'powershell/MonosyncCommon.ps1'
$script:SeamCalls = New-Object -TypeName 'System.Collections.Generic.List[object]'
$script:Envelopes = New-Object -TypeName 'System.Collections.Generic.List[object]'
$script:Signatures = $null
$script:LastStepOutput = @()

# en-US texts Windows really prints, with where they come from. WinRM localizes them; the codes are lost
# on the way (the WSMan: provider keeps only the fault's message), which is why they matter.
$WinText = @{
    # ERROR_WSMAN_CONFIG_CANNOT_CHANGE_GPO_CONTROLLED_SETTING (0x8033808A = 2150858890), from Set-Item WSMan:\...
    CbtPolicy                 = 'The config setting CbtHardeningLevel cannot be changed because is controlled by policies. The policy would need to be set to "Not Configured" in order to change the config setting.'
    TrustedHostsPolicy        = 'The config setting TrustedHosts cannot be changed because is controlled by policies. The policy would need to be set to "Not Configured" in order to change the config setting.'
    # A WSMan fault with Code="5" (the f:Message text), and the provider's own check when WinRM is stopped.
    AccessDenied              = 'Access is denied. '
    AccessDeniedElevation     = 'Access is denied. You need to run this cmdlet from an elevated process.'
    # SecurityException of Microsoft.Win32.Registry on a key the account may not read.
    RegistryAccessDenied      = 'Requested registry access is not allowed.'
    # ERROR_WSMAN_CLIENT_CANNOT_CONNECT 0x80338012 (2150858770), as the WSMan cmdlets print it.
    WinRMCannotConnect        = 'The client cannot connect to the destination specified in the request. Verify that the service on the destination is running and is accepting requests.'
}

function ConvertFrom-JsonDocument {
    # JSON text to PowerShell values, the same on Windows PowerShell 5.1 and PowerShell 7: objects become
    # ordered dictionaries with case-sensitive keys (-AsPSCustomObject: PSCustomObjects, for code that reads
    # and changes properties, like LabSeam), arrays stay object[] (also with one or no element), strings stay
    # strings (PowerShell 7's ConvertFrom-Json turns ISO dates into DateTime unless -DateKind String, which
    # 5.1 lacks, as it lacks -AsHashtable), integers are Int32 when they fit, else Int64, else Double.
    # One parser for both: .NET's JSON reader (JsonReaderWriterFactory), in .NET Framework 4 and .NET alike.
    # A lone UTF-16 surrogate (\ud800) arrives as U+FFFD.
    param([Parameter(Mandatory = $true)][AllowEmptyString()][string]$Json, [switch]$AsPSCustomObject)
    if ($null -eq ('System.Runtime.Serialization.Json.JsonReaderWriterFactory' -as [type])) { Add-Type -AssemblyName System.Runtime.Serialization }
    $bytes = [System.Text.Encoding]::UTF8.GetBytes($Json)
    $reader = [System.Runtime.Serialization.Json.JsonReaderWriterFactory]::CreateJsonReader($bytes, [System.Xml.XmlDictionaryReaderQuotas]::Max)
    try {
        $null = $reader.MoveToContent()
        $value = Read-JsonElement -Reader $reader -AsPSCustomObject:$AsPSCustomObject
    } finally {
        $reader.Close()
    }
    # The comma: an array comes back as the array (one or no element too), not as its items.
    return , $value
}

function Read-JsonElement {
    # The value of the element the reader is on (the XML form of JSON: <name type="object|array|string|
    # number|boolean|null">, array items named "item", a key that is no XML name in an item="..." attribute);
    # leaves the reader after the element's end.
    param([Parameter(Mandatory = $true)]$Reader, [switch]$AsPSCustomObject)
    $type = $Reader.GetAttribute('type')
    if ($type -eq 'object' -or $type -eq 'array') {
        $entries = New-Object -TypeName 'System.Collections.Generic.List[object]'
        $names = New-Object -TypeName 'System.Collections.Generic.List[string]'
        if ($Reader.IsEmptyElement) {
            $null = $Reader.Read()
        } else {
            $null = $Reader.Read()
            while ($Reader.NodeType -ne [System.Xml.XmlNodeType]::EndElement) {
                if ($Reader.NodeType -ne [System.Xml.XmlNodeType]::Element) { $null = $Reader.Read(); continue }
                $name = $Reader.LocalName
                if ($Reader.NamespaceURI -eq 'item') { $name = $Reader.GetAttribute('item') }
                $names.Add($name)
                $entries.Add((Read-JsonElement -Reader $Reader -AsPSCustomObject:$AsPSCustomObject))
            }
            $null = $Reader.Read()
        }
        if ($type -eq 'array') { return , $entries.ToArray() }
        if ($AsPSCustomObject) {
            $object = New-Object -TypeName PSObject
            for ($i = 0; $i -lt $names.Count; $i++) { $object.PSObject.Properties.Add((New-Object -TypeName System.Management.Automation.PSNoteProperty -ArgumentList $names[$i], $entries[$i])) }
            return $object
        }
        $dictionary = New-Object -TypeName System.Collections.Specialized.OrderedDictionary
        for ($i = 0; $i -lt $names.Count; $i++) { $dictionary[$names[$i]] = $entries[$i] }
        return , $dictionary
    }
    $text = $Reader.ReadElementContentAsString()
    $invariant = [System.Globalization.CultureInfo]::InvariantCulture
    switch ($type) {
        'null' { return $null }
        'boolean' { return ($text -eq 'true') }
        'number' {
            $int = 0
            $long = [long]0
            if ([int]::TryParse($text, [System.Globalization.NumberStyles]::AllowLeadingSign, $invariant, [ref]$int)) { return $int }
            if ([long]::TryParse($text, [System.Globalization.NumberStyles]::AllowLeadingSign, $invariant, [ref]$long)) { return $long }
            return [double]::Parse($text, [System.Globalization.NumberStyles]::Float, $invariant)
        }
        default { return $text }
    }
}

function Get-StepTestData {
    # What the tests need from the TypeScript side, from one `node` call per pwsh process (cached in a
    # global, so every test file of one Pester run shares it): the standalone script of every step, the
    # hostile values of test/powershell-injection.test.ts, the failure table of domain/failures.ts and
    # lab hosts of each profile. See test/support/script-contract.ts (assemble).
    if ($null -eq (Get-Variable -Name MonosyncStepTestData -Scope Global -ErrorAction SilentlyContinue)) {
        $out = [System.IO.Path]::GetTempFileName()
        try {
            Push-Location -LiteralPath $script:RepoRoot
            try {
                $nodeOutput = & node --import tsx test/support/script-contract.ts assemble $out 2>&1
            } finally {
                Pop-Location
            }
            if ($LASTEXITCODE -ne 0) { throw "node test/support/script-contract.ts assemble failed (exit $LASTEXITCODE): $nodeOutput" }
            $data = ConvertFrom-JsonDocument -Json ([System.IO.File]::ReadAllText($out))
        } finally {
            Remove-Item -LiteralPath $out -Force -ErrorAction SilentlyContinue
        }
        Set-Variable -Name MonosyncStepTestData -Scope Global -Value $data
    }
    return (Get-Variable -Name MonosyncStepTestData -Scope Global).Value
}

function Get-StepScriptText {
    # The standalone text of a step (what the runner sends). -StrictMode (the default) runs it under
    # Set-StrictMode -Version Latest: a caller's strict mode does not reach into the script's module, so
    # the kit writes the statement into the text, right after param().
    param([Parameter(Mandatory = $true)][string]$Name, [bool]$StrictMode = $true)
    $text = (Get-StepTestData).scripts[$Name]
    if ($null -eq $text) { throw "no step script named $Name" }
    if ($StrictMode) { $text = Add-StrictModeLine -Text $text }
    return $text
}

function Add-StrictModeLine {
    param([Parameter(Mandatory = $true)][string]$Text)
    $marker = "`n#region monosync-common`n"
    $at = $Text.IndexOf($marker)
    if ($at -lt 0) { throw 'the script text has no monosync-common region' }
    return $Text.Substring(0, $at) + "`nSet-StrictMode -Version Latest" + $Text.Substring($at)
}

function Save-StepScript {
    # Writes the standalone script to a .ps1 file, for a run by hand (named parameters).
    param([Parameter(Mandatory = $true)][string]$Name, [Parameter(Mandatory = $true)][string]$Path, [bool]$StrictMode = $false)
    [System.IO.File]::WriteAllText($Path, (Get-StepScriptText -Name $Name -StrictMode $StrictMode))
    return $Path
}

function ConvertTo-RequestBase64 {
    param([Parameter(Mandatory = $true)][AllowEmptyString()][string]$Json)
    return [System.Convert]::ToBase64String([System.Text.Encoding]::UTF8.GetBytes($Json))
}

function Invoke-StepScript {
    # Runs a step exactly as the runner does locally (powershell/command.ts): the standalone text as one
    # script block bound to a fresh module, the request as base64 of UTF-8 JSON, and -Arguments (named
    # parameters the runner passes next to the request: -ServiceCredential). Writes every object the
    # script wrote to the output stream, as the script wrote them (a caller wraps the call in @() for a
    # count: one line arrives as the string itself).
    [CmdletBinding(DefaultParameterSetName = 'Request')]
    param(
        [string]$Name,
        [string]$Text,
        [Parameter(ParameterSetName = 'Request')] $Request,
        [Parameter(ParameterSetName = 'Json')][string]$RequestJson,
        [Parameter(ParameterSetName = 'Base64')][string]$RequestBase64,
        [bool]$StrictMode = $true,
        [hashtable]$Arguments = @{}
    )
    if (-not $Text) { $Text = Get-StepScriptText -Name $Name -StrictMode $StrictMode }
    switch ($PSCmdlet.ParameterSetName) {
        'Request' { $encoded = ConvertTo-RequestBase64 -Json (ConvertTo-Json -InputObject $Request -Compress -Depth 10) }
        'Json' { $encoded = ConvertTo-RequestBase64 -Json $RequestJson }
        'Base64' { $encoded = $RequestBase64 }
    }
    $block = [scriptblock]::Create($Text)
    & $block.GetNewClosure() -RequestBase64 $encoded @Arguments
}

function Invoke-StepEnvelope {
    # Runs a step (Invoke-StepScript) and returns its one envelope, checked by ConvertFrom-StepEnvelope: what
    # every step test file's Invoke-<Step> helper does. -Request is sent as JSON, -RequestJson as it is (for a
    # malformed request); -Text runs that script text instead of the assembled step. Get-LastStepOutput then
    # holds what the script printed, for tests about the envelope's text itself.
    [CmdletBinding()]
    param(
        [Parameter(Mandatory = $true)][string]$Name,
        $Request,
        [string]$RequestJson,
        [string]$Text,
        [hashtable]$Arguments = @{}
    )
    $run = @{ Name = $Name; Text = $Text; Arguments = $Arguments }
    if ($RequestJson) { $run['RequestJson'] = $RequestJson } else { $run['Request'] = $Request }
    $script:LastStepOutput = @(Invoke-StepScript @run)
    # The caller's state, not this module's: the envelope is filed under the running Pester test's name.
    return (ConvertFrom-StepEnvelope -Script $Name -Output $script:LastStepOutput -CallerState $PSCmdlet.SessionState)
}

function Get-LastStepOutput {
    # Every object the script of the last Invoke-StepEnvelope printed, the envelope line first.
    return , $script:LastStepOutput
}

function ConvertFrom-StepEnvelope {
    # The one envelope a script printed, checked for the runner's contract (one JSON document on one line)
    # and kept for Assert-StepEnvelopeContract.
    param(
        [Parameter(ValueFromPipeline = $true)] $InputObject,
        [Parameter(Mandatory = $true)][string]$Script,
        [object[]]$Output,
        # Where the running test is: the caller's session state (a helper of this module passes on its caller's).
        [System.Management.Automation.SessionState]$CallerState
    )
    begin { $lines = New-Object -TypeName 'System.Collections.Generic.List[object]' }
    process { if ($null -ne $InputObject) { $lines.Add($InputObject) } }
    end {
        if ($PSBoundParameters.ContainsKey('Output')) { $all = @($Output) } else { $all = $lines.ToArray() }
        $all.Count | Should -Be 1 -Because 'the script prints exactly one envelope'
        $all[0] | Should -BeOfType [string]
        $all[0] | Should -Not -Match '\n' -Because 'the envelope is one line'
        # The kit's parser, not ConvertFrom-Json: dates stay the text the script printed on 5.1 and 7 alike.
        $envelope = ConvertFrom-JsonDocument -Json $all[0] -AsPSCustomObject
        $envelope.schema | Should -Be 'monosync.onboard.step/v1'
        $envelope.script | Should -Be $Script
        if ($null -eq $CallerState) { $CallerState = $PSCmdlet.SessionState }
        $script:Envelopes.Add([ordered]@{ script = $Script; line = [string]$all[0]; test = (Get-CurrentTestName -SessionState $CallerState) })
        return $envelope
    }
}

function Get-CurrentTestName {
    # The running Pester test's path, for the contract report; Pester keeps it in the test's scope
    # (an internal variable, so read defensively: '' when it is not there).
    param($SessionState)
    try {
        $pester = $SessionState.PSVariable.GetValue('____Pester')
        if ($null -ne $pester -and $null -ne $pester.CurrentTest) { return [string]$pester.CurrentTest.ExpandedPath }
    } catch {
        return ''
    }
    return ''
}

function Assert-StepEnvelopeContract {
    # Checks every envelope this pwsh process has kept since the last call against domain/envelope.ts
    # envelopeSchema and, when ok, before/after against the step's state schema (steps/<Script>/step.ts),
    # with the same zod the activities use: one `node` call. Throws a readable list of what failed.
    if ($script:Envelopes.Count -eq 0) { return 0 }
    $in = [System.IO.Path]::GetTempFileName()
    $out = [System.IO.Path]::GetTempFileName()
    try {
        [System.IO.File]::WriteAllText($in, (ConvertTo-Json -InputObject @($script:Envelopes.ToArray()) -Depth 5))
        Push-Location -LiteralPath $script:RepoRoot
        try {
            $nodeOutput = & node --import tsx test/support/script-contract.ts check-envelopes $in $out 2>&1
        } finally {
            Pop-Location
        }
        if ($LASTEXITCODE -ne 0) { throw "node test/support/script-contract.ts check-envelopes failed (exit $LASTEXITCODE): $nodeOutput" }
        # Not @(... | ConvertFrom-Json): Windows PowerShell 5.1 writes a JSON array as one object.
        $problems = ConvertFrom-JsonDocument -Json ([System.IO.File]::ReadAllText($out)) -AsPSCustomObject
    } finally {
        Remove-Item -LiteralPath $in, $out -Force -ErrorAction SilentlyContinue
    }
    $checked = $script:Envelopes.Count
    $script:Envelopes.Clear()
    if ($problems.Count -gt 0) {
        throw ("{0} of {1} envelopes break the zod contract:`n{2}" -f $problems.Count, $checked, (($problems | ForEach-Object { "- [$($_.test)] $($_.problem)`n  $($_.line)" }) -join "`n"))
    }
    return $checked
}

function Get-FailureType {
    # classifyCode(code, advisory) of domain/failures.ts, from its table as node printed it: the failure
    # type a script's error.code becomes in the activities.
    param([Parameter(Mandatory = $true)][string]$Code, [string]$Class = '')
    $types = (Get-StepTestData).failureTypes
    $byCode = $types.byCode[$Code.ToLowerInvariant()]
    if ($null -ne $byCode) { return $byCode }
    $byClass = $types.byClass[$Class]
    if ($null -ne $byClass) { return $byClass }
    return $types.byClass['other']
}

function Get-HostileValue {
    # The HOSTILE values of test/powershell-injection.test.ts (read from that file by node), written one by
    # one: `foreach ($v in Get-HostileValue)` iterates them (it would get the array as one item otherwise).
    foreach ($value in (Get-StepTestData).hostile) { [string]$value }
}

function Get-LabHostJson {
    # A host of the lab (lab/profiles.ts) as LabEstate builds it, as JSON text: each call parses a fresh copy.
    param([string]$Profile = 'fresh')
    $json = (Get-StepTestData).labHosts[$Profile]
    if ($null -eq $json) { throw "no lab host for profile $Profile" }
    return [string]$json
}

function New-LabHost {
    # A fresh, mutable copy of a lab host (the LabHost shape of lab/model.ts) for LabSeam.
    param([string]$Profile = 'fresh')
    return (ConvertFrom-JsonDocument -Json (Get-LabHostJson -Profile $Profile) -AsPSCustomObject)
}

# --- the seam ---------------------------------------------------------------------------------------

function Get-SeamSignature {
    # name -> param() text of every function in the '#region seam' of powershell/MonosyncCommon.ps1.
    if ($null -eq $script:Signatures) {
        $text = [System.IO.File]::ReadAllText($script:CommonFile)
        $start = $text.IndexOf("`n#region seam")
        $end = $text.IndexOf("`n#endregion seam")
        if ($start -lt 0 -or $end -lt $start) { throw 'MonosyncCommon.ps1 has no #region seam' }
        $tokens = $null
        $errors = $null
        $ast = [System.Management.Automation.Language.Parser]::ParseInput($text, [ref]$tokens, [ref]$errors)
        $signatures = [ordered]@{}
        $functions = $ast.FindAll({ param($node) $node -is [System.Management.Automation.Language.FunctionDefinitionAst] }, $false)
        foreach ($function in $functions) {
            if ($function.Extent.StartOffset -lt $start -or $function.Extent.EndOffset -gt $end) { continue }
            $param = 'param()'
            if ($null -ne $function.Body.ParamBlock) { $param = $function.Body.ParamBlock.Extent.Text }
            $signatures[$function.Name] = $param
        }
        $script:Signatures = $signatures
    }
    return $script:Signatures
}

function Get-SeamFunctionName {
    # Written one by one, like every list the kit hands out: @(Get-SeamFunctionName) to count them.
    foreach ($name in (Get-SeamSignature).Keys) { [string]$name }
}

function Set-SeamFake {
    # Replaces one seam function for every script run from now on (see the top of this file).
    param([Parameter(Mandatory = $true)][string]$Name, [Parameter(Mandatory = $true)][scriptblock]$ScriptBlock)
    $signature = (Get-SeamSignature)[$Name]
    if ($null -eq $signature) { throw "$Name is not a seam function of powershell/MonosyncCommon.ps1" }
    $fake = $ScriptBlock
    $seamName = $Name
    $calls = $script:SeamCalls
    $body = @'
$bound = [ordered]@{}
foreach ($key in $PSBoundParameters.Keys) { $bound[$key] = $PSBoundParameters[$key] }
$calls.Add([pscustomobject]@{ Name = $seamName; Parameters = $bound })
& $fake @PSBoundParameters
'@
    $wrapper = [scriptblock]::Create("$signature`n$body").GetNewClosure()
    Set-Item -Path "function:global:SeamFake_$Name" -Value $wrapper
    Set-Alias -Name $Name -Value "SeamFake_$Name" -Scope Global -Force
}

function Reset-SeamFake {
    # Every seam function behind a tripwire (a call throws "... not faked"), the machine's name faked as
    # EXCH01 / exch01.corp.example, and the call log emptied.
    param([string]$ComputerName = 'EXCH01', [string]$Fqdn = 'exch01.corp.example')
    $script:SeamCalls.Clear()
    foreach ($name in Get-SeamFunctionName) {
        $seamName = $name
        Set-SeamFake -Name $name -ScriptBlock ({ throw "seam function $seamName is not faked in this test" }.GetNewClosure())
    }
    $computer = $ComputerName
    $dnsName = $Fqdn
    Set-SeamFake -Name Get-WinComputerName -ScriptBlock ({ $computer }.GetNewClosure())
    Set-SeamFake -Name Resolve-WinDnsHostName -ScriptBlock ({ param($Name) $dnsName }.GetNewClosure())
    $script:SeamCalls.Clear()
}

function Remove-SeamFake {
    # Takes every fake away again (the scripts' own seam functions run).
    foreach ($name in Get-SeamFunctionName) {
        Remove-Item -Path "alias:$name" -Force -ErrorAction SilentlyContinue
        Remove-Item -Path "function:global:SeamFake_$name" -Force -ErrorAction SilentlyContinue
    }
    $script:SeamCalls.Clear()
}

function Get-SeamCall {
    # The seam calls since the last Reset-SeamFake or Clear-SeamCall: objects {Name, Parameters}, written one
    # by one (a caller wraps the call in @() to count them: Windows PowerShell 5.1 gives a single
    # PSCustomObject no .Count).
    param([string]$Name)
    foreach ($call in $script:SeamCalls.ToArray()) {
        if (-not $Name -or $call.Name -eq $Name) { $call }
    }
}

function Clear-SeamCall {
    $script:SeamCalls.Clear()
}

# --- what a step script may call -------------------------------------------------------------------

# Commands a step script may call itself: PowerShell's own, the same on Windows and Linux.
$script:PortableCommands = @(
    'ConvertFrom-Json', 'ConvertTo-Json', 'New-Object', 'Select-Object', 'Where-Object', 'ForEach-Object',
    'Sort-Object', 'Group-Object', 'Measure-Object', 'Out-Null', 'Write-Output', 'Write-Verbose', 'Get-Date'
)

function Get-StepScriptCommand {
    # Every command name the step's own .ps1 calls (without the common helpers), and the functions it defines.
    param([Parameter(Mandatory = $true)][string]$Name)
    $path = Join-Path -Path $script:RepoRoot -ChildPath "steps/$Name/$Name.ps1"
    $tokens = $null
    $errors = $null
    $ast = [System.Management.Automation.Language.Parser]::ParseFile($path, [ref]$tokens, [ref]$errors)
    $commands = @($ast.FindAll({ param($node) $node -is [System.Management.Automation.Language.CommandAst] }, $true) | ForEach-Object { $_.GetCommandName() } | Where-Object { $_ } | Sort-Object -Unique)
    $defined = @($ast.FindAll({ param($node) $node -is [System.Management.Automation.Language.FunctionDefinitionAst] }, $true) | ForEach-Object { $_.Name })
    $types = @($ast.FindAll({ param($node) $node -is [System.Management.Automation.Language.TypeExpressionAst] -or $node -is [System.Management.Automation.Language.TypeConstraintAst] }, $true) | ForEach-Object { $_.TypeName.FullName } | Sort-Object -Unique)
    return [pscustomobject]@{ Commands = $commands; Defined = $defined; Types = $types }
}

function Get-StepSeamViolation {
    # What a step's own code does on Windows without going through the seam: commands that are neither
    # a seam function, a common helper, a function of its own nor portable, and Windows-only .NET types
    # used directly (a heuristic: New-Object -TypeName strings are not seen). Empty when the step keeps
    # to the seam; for a step not yet moved to it, the list is the work to do.
    param([Parameter(Mandatory = $true)][string]$Name)
    $found = Get-StepScriptCommand -Name $Name
    $commonText = [System.IO.File]::ReadAllText($script:CommonFile)
    $helpers = @([regex]::Matches($commonText, '(?m)^function\s+([\w-]+)') | ForEach-Object { $_.Groups[1].Value })
    $allowed = @($helpers) + @($found.Defined) + $script:PortableCommands
    $violations = New-Object -TypeName 'System.Collections.Generic.List[string]'
    foreach ($command in $found.Commands) {
        if ($allowed -notcontains $command) { $violations.Add("calls $command") }
    }
    foreach ($type in $found.Types) {
        if ($type -match '^(System\.)?(Net\.Dns|Microsoft\.Win32|DirectoryServices|ADSI|WMI|Security\.Cryptography\.X509|Security\.Principal\.(NTAccount|WindowsIdentity|WindowsPrincipal))') { $violations.Add("uses [$type]") }
    }
    # One by one, like every list the kit hands out: `| Should -BeNullOrEmpty` sees each violation.
    foreach ($violation in $violations) { $violation }
}

# --- error records as Windows produces them ---------------------------------------------------------

function New-WindowsErrorRecord {
    # An ErrorRecord shaped as PowerShell hands it to a script's catch: the exception, the fully qualified
    # error id ('<ErrorId>,<command type>' once a cmdlet threw it) and the category.
    param(
        [Parameter(Mandatory = $true)][System.Exception]$Exception,
        [Parameter(Mandatory = $true)][string]$ErrorId,
        [System.Management.Automation.ErrorCategory]$Category = 'NotSpecified',
        $TargetObject = $null
    )
    return (New-Object -TypeName System.Management.Automation.ErrorRecord -ArgumentList $Exception, $ErrorId, $Category, $TargetObject)
}

function New-WsmanProviderError {
    # What Get-Item / Set-Item on the WSMan: drive throw: the provider turns the WSMan fault into an
    # InvalidOperationException carrying only the fault's f:Message text (ConfigProvider.AssertError); the
    # engine re-wraps it (CmdletProviderInvocationException), so the script's catch sees that exception
    # with FullyQualifiedErrorId 'System.InvalidOperationException,Microsoft.PowerShell.Commands.<Command>Command'
    # and category NotSpecified; HResult is the .NET default 0x80131509, the WinRM code is gone.
    param([Parameter(Mandatory = $true)][string]$Message, [ValidateSet('GetItem', 'SetItem', 'ClearItem', 'NewItem', 'RemoveItem')][string]$Command = 'SetItem')
    $exception = New-Object -TypeName System.InvalidOperationException -ArgumentList $Message
    return (New-WindowsErrorRecord -Exception $exception -ErrorId "System.InvalidOperationException,Microsoft.PowerShell.Commands.$($Command)Command")
}

function New-WsmanFaultError {
    # What the WSMan cmdlets (Test-WSMan, Get/Set-WSManInstance, Connect-WSMan) throw: the whole fault XML
    # as the InvalidOperationException's message, the code in decimal; ErrorId 'WsManError', category
    # InvalidOperation.
    param([Parameter(Mandatory = $true)][uint32]$Code, [Parameter(Mandatory = $true)][string]$Message, [string]$Command = 'Microsoft.WSMan.Management.TestWSManCommand', [string]$Machine = 'exch01.corp.example')
    $xml = '<f:WSManFault xmlns:f="http://schemas.microsoft.com/wbem/wsman/1/wsmanfault" Code="{0}" Machine="{1}"><f:Message>{2}</f:Message></f:WSManFault>' -f $Code, $Machine, $Message
    $exception = New-Object -TypeName System.InvalidOperationException -ArgumentList $xml
    return (New-WindowsErrorRecord -Exception $exception -ErrorId "WsManError,$Command" -Category InvalidOperation -TargetObject $Machine)
}

function New-MethodInvocationError {
    # What a .NET method call throws in PowerShell: MethodInvocationException 'Exception calling "<Method>"
    # with "<n>" argument(s): "<inner message>"' around the real exception; FullyQualifiedErrorId is the
    # inner exception's type name without namespace.
    param([Parameter(Mandatory = $true)][System.Exception]$InnerException, [Parameter(Mandatory = $true)][string]$Method, [int]$ArgumentCount = 1)
    $text = 'Exception calling "{0}" with "{1}" argument(s): "{2}"' -f $Method, $ArgumentCount, $InnerException.Message
    $exception = New-Object -TypeName System.Management.Automation.MethodInvocationException -ArgumentList $text, $InnerException
    return (New-WindowsErrorRecord -Exception $exception -ErrorId $InnerException.GetType().Name)
}

function New-CimError {
    # What CIM and CDXML cmdlets (Get-CimInstance, New-NetFirewallRule, ...) throw: a CimException (here
    # its stand-in: the test has no CIM), FullyQualifiedErrorId 'HRESULT 0x80070005,<command>' or
    # 'Windows System Error 5,<command>', category PermissionDenied for access denied.
    param([Parameter(Mandatory = $true)][string]$ErrorId, [string]$Message = 'Access is denied. ', [System.Management.Automation.ErrorCategory]$Category = 'PermissionDenied')
    $exception = New-Object -TypeName System.Runtime.InteropServices.COMException -ArgumentList $Message, -2147024891
    return (New-WindowsErrorRecord -Exception $exception -ErrorId $ErrorId -Category $Category)
}

#region seam: Enable-KerberosDelegation
# The ActiveDirectory module's errors. Its exception types live in Microsoft.ActiveDirectory.Management.dll,
# which Linux has not: stand-ins with the same full names, base types and the members Get-StepErrorInfo reads
# (ADException : InvalidOperationException with ErrorCode and ServerErrorMessage; ADIdentityNotFoundException :
# ADIdentityResolutionException : ADException; ADServerDownException : ADException).
$script:ADExceptionSource = @'
namespace Microsoft.ActiveDirectory.Management
{
    public class ADException : System.InvalidOperationException
    {
        public ADException(string message, int errorCode, string serverErrorMessage) : base(message) { ErrorCode = errorCode; ServerErrorMessage = serverErrorMessage; }
        public int ErrorCode { get; private set; }
        public string ServerErrorMessage { get; private set; }
    }
    public class ADIdentityResolutionException : ADException
    {
        public ADIdentityResolutionException(string message) : base(message, 0, null) { }
    }
    public class ADIdentityNotFoundException : ADIdentityResolutionException
    {
        public ADIdentityNotFoundException(string message) : base(message) { }
    }
    public class ADServerDownException : ADException
    {
        public ADServerDownException(string message, int errorCode) : base(message, errorCode, null) { }
    }
}
'@

function New-ADError {
    # What an ActiveDirectory cmdlet throws, as a script's catch sees it (en-US texts, as Windows prints them):
    #   IdentityNotFound   ADIdentityNotFoundException "Cannot find an object with identity: 'EXCH01$' under:
    #                      'DC=corp,DC=example'.", FQID 'ActiveDirectoryCmdlet:Microsoft.ActiveDirectory.
    #                      Management.ADIdentityNotFoundException,<cmdlet class>', ObjectNotFound
    #   ServerDown         ADServerDownException "Unable to contact the server. ...", 'ActiveDirectoryServer:0,...',
    #                      ResourceUnavailable (an -Server DC that is down, or ADWS / TCP 9389 blocked)
    #   NoDefaultServer    ADServerDownException "Unable to find a default server with Active Directory Web
    #                      Services running.", 'ActiveDirectoryServer:1355,...', ResourceUnavailable
    #   InsufficientRights ADException ErrorCode 8344 "Insufficient access rights to perform the operation",
    #                      'ActiveDirectoryServer:8344,...', NotSpecified (no SeEnableDelegationPrivilege)
    #   AccessDenied       UnauthorizedAccessException "Access is denied", 'ActiveDirectoryCmdlet:System.
    #                      UnauthorizedAccessException,...', PermissionDenied
    #   CredentialsRejected AuthenticationException "The server has rejected the client credentials.",
    #                      'ActiveDirectoryCmdlet:System.Security.Authentication.AuthenticationException,...', SecurityError
    # -Command is the cmdlet class: GetADComputer, SetADAccountControl, GetADDomainController.
    param(
        [Parameter(Mandatory = $true)][ValidateSet('IdentityNotFound', 'ServerDown', 'NoDefaultServer', 'InsufficientRights', 'AccessDenied', 'CredentialsRejected')][string]$Kind,
        [string]$Command = 'GetADComputer',
        [string]$Identity = 'EXCH01$',
        [string]$Partition = 'DC=corp,DC=example'
    )
    if ($null -eq ('Microsoft.ActiveDirectory.Management.ADException' -as [type])) { Add-Type -TypeDefinition $script:ADExceptionSource }
    $class = "Microsoft.ActiveDirectory.Management.Commands.$Command"
    switch ($Kind) {
        'IdentityNotFound' {
            $exception = New-Object -TypeName Microsoft.ActiveDirectory.Management.ADIdentityNotFoundException -ArgumentList "Cannot find an object with identity: '$Identity' under: '$Partition'."
            return (New-WindowsErrorRecord -Exception $exception -ErrorId "ActiveDirectoryCmdlet:Microsoft.ActiveDirectory.Management.ADIdentityNotFoundException,$class" -Category ObjectNotFound -TargetObject $Identity)
        }
        'ServerDown' {
            $exception = New-Object -TypeName Microsoft.ActiveDirectory.Management.ADServerDownException -ArgumentList 'Unable to contact the server. This may be because this server does not exist, it is currently down, or it does not have the Active Directory Web Services running.', 0
            return (New-WindowsErrorRecord -Exception $exception -ErrorId "ActiveDirectoryServer:0,$class" -Category ResourceUnavailable -TargetObject $Identity)
        }
        'NoDefaultServer' {
            $exception = New-Object -TypeName Microsoft.ActiveDirectory.Management.ADServerDownException -ArgumentList 'Unable to find a default server with Active Directory Web Services running.', 1355
            return (New-WindowsErrorRecord -Exception $exception -ErrorId "ActiveDirectoryServer:1355,$class" -Category ResourceUnavailable)
        }
        'InsufficientRights' {
            $exception = New-Object -TypeName Microsoft.ActiveDirectory.Management.ADException -ArgumentList 'Insufficient access rights to perform the operation', 8344, '00002098: SecErr: DSID-03150F94, problem 4003 (INSUFF_ACCESS_RIGHTS), data 0'
            return (New-WindowsErrorRecord -Exception $exception -ErrorId "ActiveDirectoryServer:8344,$class" -TargetObject $Identity)
        }
        'AccessDenied' {
            $exception = New-Object -TypeName System.UnauthorizedAccessException -ArgumentList 'Access is denied'
            return (New-WindowsErrorRecord -Exception $exception -ErrorId "ActiveDirectoryCmdlet:System.UnauthorizedAccessException,$class" -Category PermissionDenied -TargetObject $Identity)
        }
        'CredentialsRejected' {
            $exception = New-Object -TypeName System.Security.Authentication.AuthenticationException -ArgumentList 'The server has rejected the client credentials.'
            return (New-WindowsErrorRecord -Exception $exception -ErrorId "ActiveDirectoryCmdlet:System.Security.Authentication.AuthenticationException,$class" -Category SecurityError)
        }
    }
}

function New-ModuleNotFoundError {
    # Import-Module of a module that is not installed (-ErrorAction Stop): FileNotFoundException, FQID
    # 'Modules_ModuleNotFound,Microsoft.PowerShell.Commands.ImportModuleCommand', ResourceUnavailable.
    param([string]$Name = 'ActiveDirectory')
    $exception = New-Object -TypeName System.IO.FileNotFoundException -ArgumentList "The specified module '$Name' was not loaded because no valid module file was found in any module directory."
    return (New-WindowsErrorRecord -Exception $exception -ErrorId 'Modules_ModuleNotFound,Microsoft.PowerShell.Commands.ImportModuleCommand' -Category ResourceUnavailable -TargetObject $Name)
}

Export-ModuleMember -Function New-ADError, New-ModuleNotFoundError
#endregion

#region seam: Set-MonosyncFirewallRule
# The NetSecurity (CDXML) cmdlets' errors. On Windows they are CimException (a CIM call that failed: FQID
# 'Windows System Error <n>,<cmdlet>' or 'HRESULT 0x<hr>,<cmdlet>', target MSFT_NetFirewallRule) or, for a
# -Name that matches nothing, CimJobException from the cmdletization layer ('CmdletizationQuery_NotFound_Name,
# <cmdlet>', ObjectNotFound). Both types load in pwsh on Linux; a CimException's NativeErrorCode needs an
# MSFT_WmiError instance (libmi), so only its message, id and category are as on Windows.
$WinText['FirewallRuleNotFound'] = "No MSFT_NetFirewallRule objects found with property 'Name' equal to '{0}'.  Verify the value of the property and retry."
# Win32 1753 EPT_S_NOT_REGISTERED: the Windows Firewall service (MpsSvc) is stopped.
$WinText['FirewallServiceStopped'] = 'There are no more endpoints available from the endpoint mapper. '
# Win32 183 ERROR_ALREADY_EXISTS: New-NetFirewallRule -Name of a rule that exists.
$WinText['FirewallRuleExists'] = 'Cannot create a file when that file already exists. '
# E_INVALIDARG 0x80070057: an address Windows refuses (the script's own validation comes first).
$WinText['FirewallAddressInvalid'] = 'The address is invalid. Addresses may be specified as IP addresses, ranges, or subnets.'

function New-NetSecurityError {
    # -Kind NotFound: Get/Set/Remove-NetFirewallRule -Name of a rule that does not exist.
    # -Kind AccessDenied (not elevated; Windows System Error 5, PermissionDenied), ServiceStopped (1753),
    #   Exists (183, ResourceExists), InvalidArgument (HRESULT 0x80070057, InvalidArgument).
    param(
        [Parameter(Mandatory = $true)][ValidateSet('NotFound', 'AccessDenied', 'ServiceStopped', 'Exists', 'InvalidArgument')][string]$Kind,
        [string]$Command = 'New-NetFirewallRule',
        [string]$Name = 'Monosync-WinRM-In'
    )
    if ($Kind -eq 'NotFound') {
        $exception = New-Object -TypeName Microsoft.PowerShell.Cmdletization.Cim.CimJobException -ArgumentList ($WinText.FirewallRuleNotFound -f $Name)
        return (New-WindowsErrorRecord -Exception $exception -ErrorId "CmdletizationQuery_NotFound_Name,$Command" -Category ObjectNotFound -TargetObject $Name)
    }
    $spec = @{
        AccessDenied    = @{ Message = $WinText.AccessDenied; ErrorId = 'Windows System Error 5'; Category = 'PermissionDenied' }
        ServiceStopped  = @{ Message = $WinText.FirewallServiceStopped; ErrorId = 'Windows System Error 1753'; Category = 'NotSpecified' }
        Exists          = @{ Message = $WinText.FirewallRuleExists; ErrorId = 'Windows System Error 183'; Category = 'ResourceExists' }
        InvalidArgument = @{ Message = $WinText.FirewallAddressInvalid; ErrorId = 'HRESULT 0x80070057'; Category = 'InvalidArgument' }
    }[$Kind]
    $exception = New-Object -TypeName Microsoft.Management.Infrastructure.CimException -ArgumentList $spec.Message
    return (New-WindowsErrorRecord -Exception $exception -ErrorId "$($spec.ErrorId),$Command" -Category $spec.Category -TargetObject 'MSFT_NetFirewallRule')
}

Export-ModuleMember -Function New-NetSecurityError
#endregion

#region seam: Enable-Remoting
# The service cmdlets' and the remoting cmdlets' errors. ServiceCommandException lives in
# Microsoft.PowerShell.Commands.Management, which pwsh on Linux builds without the service cmdlets: a stand-in
# with the same full name, base type and ServiceName. Win32Exception(int) on Linux takes errno's text, so the
# records carry Windows' own message.
$WinText['ServiceAccessDenied'] = 'Access is denied'
# Win32 1058 ERROR_SERVICE_DISABLED and 1068 ERROR_SERVICE_DEPENDENCY_FAIL.
$WinText['ServiceDisabled'] = 'The service cannot be started, either because it is disabled or because it has no enabled devices associated with it'
$WinText['ServiceDependencyFailed'] = 'The dependency service or group failed to start'
# RemotingErrorIdStrings.EDcsRequiresElevation in Windows PowerShell 5.1 (PSSessionConfigurationCommandUtilities.
# ThrowIfNotAdministrator): Get-PSSessionConfiguration, Enable-PSRemoting and the other endpoint cmdlets, not elevated.
$WinText['RemotingElevationRequired'] = 'Access is denied. To run this cmdlet, start Windows PowerShell with the "Run as administrator" option.'
# Set-WSManQuickConfig's fault 0x80338169 (2150859113), inside Enable-PSRemoting, on a client with a Public network.
$WinText['QuickConfigPublicNetwork'] = 'WinRM firewall exception will not work since one of the network connection types on this machine is set to Public. Change the network connection type to either Domain or Private and try again. '
$script:ServiceExceptionSource = @'
namespace Microsoft.PowerShell.Commands
{
    public class ServiceCommandException : System.SystemException
    {
        public ServiceCommandException(string message, System.Exception innerException) : base(message, innerException) { }
        public string ServiceName { get; set; }
    }
}
'@

function New-ServiceError {
    # What Set-Service and Start-Service write (a script's catch sees it under $ErrorActionPreference 'Stop'):
    # ServiceCommandException "Service '<display name> (<name>)' cannot be configured|started due to the
    # following error: <inner message>" around what ServiceController threw.
    #   SetAccessDenied    Set-Service not elevated: Win32Exception 5 inside, 'CouldNotSetService,...SetServiceCommand', PermissionDenied
    #   StartAccessDenied  Start-Service not elevated: InvalidOperationException "Cannot open WinRM service on computer '.'."
    #                      around Win32Exception 5, 'CouldNotStartService,...StartServiceCommand', OpenError
    #   StartDisabled      Start-Service on a disabled service: "Cannot start service WinRM on computer '.'." around 1058
    #   StartDependency    a dependency (HTTP) failed to start: "Cannot start service WinRM on computer '.'." around 1068
    param(
        [Parameter(Mandatory = $true)][ValidateSet('SetAccessDenied', 'StartAccessDenied', 'StartDisabled', 'StartDependency')][string]$Kind,
        [string]$Name = 'WinRM',
        [string]$DisplayName = 'Windows Remote Management (WS-Management)'
    )
    if ($null -eq ('Microsoft.PowerShell.Commands.ServiceCommandException' -as [type])) { Add-Type -TypeDefinition $script:ServiceExceptionSource }
    switch ($Kind) {
        'SetAccessDenied' {
            $inner = New-Object -TypeName System.ComponentModel.Win32Exception -ArgumentList 5, $WinText.ServiceAccessDenied
            $format = "Service '{1} ({0})' cannot be configured due to the following error: {2}"; $errorId = 'CouldNotSetService,Microsoft.PowerShell.Commands.SetServiceCommand'; $category = 'PermissionDenied'
        }
        'StartAccessDenied' {
            $win32 = New-Object -TypeName System.ComponentModel.Win32Exception -ArgumentList 5, $WinText.ServiceAccessDenied
            $inner = New-Object -TypeName System.InvalidOperationException -ArgumentList "Cannot open $Name service on computer '.'.", $win32
            $format = "Service '{1} ({0})' cannot be started due to the following error: {2}"; $errorId = 'CouldNotStartService,Microsoft.PowerShell.Commands.StartServiceCommand'; $category = 'OpenError'
        }
        default {
            $code = 1058; $text = $WinText.ServiceDisabled
            if ($Kind -eq 'StartDependency') { $code = 1068; $text = $WinText.ServiceDependencyFailed }
            $win32 = New-Object -TypeName System.ComponentModel.Win32Exception -ArgumentList $code, $text
            $inner = New-Object -TypeName System.InvalidOperationException -ArgumentList "Cannot start service $Name on computer '.'.", $win32
            $format = "Service '{1} ({0})' cannot be started due to the following error: {2}"; $errorId = 'CouldNotStartService,Microsoft.PowerShell.Commands.StartServiceCommand'; $category = 'OpenError'
        }
    }
    $exception = New-Object -TypeName Microsoft.PowerShell.Commands.ServiceCommandException -ArgumentList ($format -f $Name, $DisplayName, $inner.Message), $inner
    $exception.ServiceName = $Name
    return (New-WindowsErrorRecord -Exception $exception -ErrorId $errorId -Category $category -TargetObject $Name)
}

function New-ElevationError {
    # A remoting cmdlet run without elevation (Get-PSSessionConfiguration, Enable-PSRemoting): the
    # InvalidOperationException its BeginProcessing throws, FQID '<type>,<cmdlet class>', NotSpecified.
    param([ValidateSet('GetPSSessionConfigurationCommand', 'EnablePSRemotingCommand')][string]$Command = 'GetPSSessionConfigurationCommand')
    $exception = New-Object -TypeName System.InvalidOperationException -ArgumentList $WinText.RemotingElevationRequired
    return (New-WindowsErrorRecord -Exception $exception -ErrorId "System.InvalidOperationException,Microsoft.PowerShell.Commands.$Command")
}

Export-ModuleMember -Function New-ServiceError, New-ElevationError
#endregion

#region seam: Test-MonosyncConnectivity
# What the worker's acceptance probes meet, as Windows reports it (en-US texts).
# Test-WSMan's WSManFault Code 12175 (ERROR_WINHTTP_SECURE_FAILURE): the WinRM client lists what it found
# wrong with the served certificate, one line each, after this head ({0}: the name asked for). Machine= is
# the client (the worker) in these faults.
$WinText['WsmanCertificateErrors'] = 'The server certificate on the destination computer ({0}:5986) has the following errors: '
$WinText['CertNameMismatch'] = 'The SSL certificate contains a common name (CN) that does not match the hostname.'
$WinText['CertExpired'] = 'The SSL certificate is expired.'
$WinText['CertUnknownAuthority'] = 'The SSL certificate is signed by an unknown certificate authority.'
# ERROR_WSMAN_... 0x80338126 (2150859046): nothing answered in time, as behind a firewall that drops packets.
$WinText['WinRMCannotComplete'] = 'WinRM cannot complete the operation. Verify that the specified computer name is valid, that the computer is accessible over the network, and that a firewall exception for the WinRM service is enabled and allows access from this computer. By default, the WinRM firewall exception for public profiles limits access to remote computers within the same local subnet. '
# SslStream.AuthenticateAsClient (.NET Framework) when the server drops the handshake (no usable certificate).
$WinText['TlsRemoteClosed'] = 'Authentication failed because the remote party has closed the transport stream.'
# Invoke-Command / New-PSSession -ComputerName: the session did not open ({0}: the name, {1}: WinRM's text).
$WinText['RemotingConnectFailed'] = 'Connecting to remote server {0} failed with the following error message : {1} For more information, see the about_Remote_Troubleshooting Help topic.'

function New-WsmanCertificateError {
    # Test-WSMan -UseSSL against a certificate the WinRM client refuses: WSManFault Code 12175 listing -Problem
    # (the $WinText Cert* lines).
    param([Parameter(Mandatory = $true)][string[]]$Problem, [string]$ComputerName = 'exch01.corp.example', [string]$Machine = 'monosync01.corp.example')
    $text = ($WinText.WsmanCertificateErrors -f $ComputerName) + "`n" + ($Problem -join "`n") + '      '
    return (New-WsmanFaultError -Code 12175 -Message $text -Machine $Machine)
}

function New-RemotingTransportError {
    # Invoke-Command -ComputerName when the session cannot open: PSRemotingTransportException with ErrorCode
    # (5 access denied, 2150858770 cannot connect, 2150859046 no answer in time), FQID '<Reason>,PSSessionStateBroken'
    # (AccessDenied, CannotConnect, WinRMOperationTimeout), category OpenError.
    param([Parameter(Mandatory = $true)][long]$ErrorCode, [Parameter(Mandatory = $true)][string]$Text, [Parameter(Mandatory = $true)][string]$Reason, [string]$ComputerName = 'exch01.corp.example')
    $exception = New-Object -TypeName System.Management.Automation.Remoting.PSRemotingTransportException -ArgumentList ($WinText.RemotingConnectFailed -f $ComputerName, $Text)
    # The property is an int: WinRM's 0x8033xxxx codes arrive negative, as on Windows.
    $exception.ErrorCode = [int][long]($ErrorCode - $(if ($ErrorCode -gt 2147483647) { 4294967296 } else { 0 }))
    return (New-WindowsErrorRecord -Exception $exception -ErrorId "$Reason,PSSessionStateBroken" -Category OpenError -TargetObject $ComputerName)
}

function New-TlsProbeError {
    # What the TLS probe's seam functions throw: -Kind Timeout / Refused (Open-WinTlsStream: SocketException
    # 10060 / 10061 from the TcpClient constructor, in MethodInvocationException, FQID
    # 'ConstructorInvokedThrowException,Microsoft.PowerShell.Commands.NewObjectCommand'; the socket's message is
    # the platform's), Reset (Invoke-WinTlsHandshake: 10054 inside IOException), Closed (Invoke-WinTlsHandshake:
    # the server dropped the handshake, IOException).
    param([Parameter(Mandatory = $true)][ValidateSet('Timeout', 'Refused', 'Reset', 'Closed')][string]$Kind)
    switch ($Kind) {
        { $_ -in 'Timeout', 'Refused' } {
            $code = 10061
            if ($Kind -eq 'Timeout') { $code = 10060 }
            $socket = [System.Net.Sockets.SocketException]::new($code)
            $exception = New-Object -TypeName System.Management.Automation.MethodInvocationException -ArgumentList ('Exception calling ".ctor" with "2" argument(s): "{0}"' -f $socket.Message), $socket
            return (New-WindowsErrorRecord -Exception $exception -ErrorId 'ConstructorInvokedThrowException,Microsoft.PowerShell.Commands.NewObjectCommand' -Category InvalidOperation)
        }
        'Reset' {
            $io = New-Object -TypeName System.IO.IOException -ArgumentList 'Unable to read data from the transport connection: An existing connection was forcibly closed by the remote host.', ([System.Net.Sockets.SocketException]::new(10054))
            return (New-MethodInvocationError -InnerException $io -Method AuthenticateAsClient -ArgumentCount 4)
        }
        'Closed' { return (New-MethodInvocationError -InnerException (New-Object -TypeName System.IO.IOException -ArgumentList $WinText.TlsRemoteClosed) -Method AuthenticateAsClient -ArgumentCount 4) }
    }
}

Export-ModuleMember -Function New-WsmanCertificateError, New-RemotingTransportError, New-TlsProbeError
#endregion

#region seam: Grant-RemoteManagement
# Errors of the local group and account seam (Add/Remove-LocalGroupMember, ADSI WinNT://, NTAccount.Translate).
# en-US texts of the LocalAccounts module (Strings.resx of Microsoft.PowerShell.LocalAccounts) and of Win32.
$WinText['MemberExists'] = '{0} is already a member of group {1}.'
$WinText['MemberNotFound'] = 'Member {0} was not found in group {1}.'
$WinText['LocalAccountsAccessDenied'] = 'Access denied.'
$WinText['PrincipalNotFound'] = 'Principal {0} was not found.'
$WinText['GroupNotFound'] = 'Group {0} was not found.'
# FormatMessage texts (with their CRLF) of ERROR_MEMBER_IN_ALIAS 1378, ERROR_MEMBER_NOT_IN_ALIAS 1377,
# NERR_GroupNotFound 2220 and ERROR_ACCESS_DENIED 5, as a COMException from ADSI carries them.
$WinText['MemberInAlias'] = "The specified account name is already a member of the group.`r`n"
$WinText['MemberNotInAlias'] = "The specified account name is not a member of the group.`r`n"
$WinText['AdsiGroupNotFound'] = "The group name could not be found.`r`n"
$WinText['AdsiAccessDenied'] = "Access is denied.`r`n"
$WinText['IdentityNotMapped'] = 'Some or all identity references could not be translated.'
# The LocalAccounts exception types (Microsoft.PowerShell.LocalAccounts.dll, Windows only): stand-ins with the
# same full names and base types where the module is not loaded.
$script:LocalAccountsExceptionSource = @'
namespace Microsoft.PowerShell.Commands
{
    public class LocalAccountsException : System.Exception { public LocalAccountsException(string message) : base(message) { } }
    public class AccessDeniedException : LocalAccountsException { public AccessDeniedException(string message) : base(message) { } }
    public class NotFoundException : LocalAccountsException { public NotFoundException(string message) : base(message) { } }
    public class PrincipalNotFoundException : NotFoundException { public PrincipalNotFoundException(string message) : base(message) { } }
    public class GroupNotFoundException : NotFoundException { public GroupNotFoundException(string message) : base(message) { } }
    public class MemberNotFoundException : NotFoundException { public MemberNotFoundException(string message) : base(message) { } }
    public class ObjectExistsException : LocalAccountsException { public ObjectExistsException(string message) : base(message) { } }
    public class MemberExistsException : ObjectExistsException { public MemberExistsException(string message) : base(message) { } }
}
'@

function New-LocalAccountsError {
    # What Add-LocalGroupMember / Remove-LocalGroupMember throw (under -ErrorAction Stop), as a script's catch sees
    # them: the module's exception, FQID '<Kind>,Microsoft.PowerShell.Commands.<Verb>LocalGroupMemberCommand':
    #   MemberExists      'CORP\x is already a member of group Remote Management Users.' (ResourceExists)
    #   MemberNotFound    'Member CORP\x was not found in group Remote Management Users.' (ObjectNotFound)
    #   AccessDenied      'Access denied.' (PermissionDenied): not elevated
    #   PrincipalNotFound 'Principal CORP\x was not found.' (ObjectNotFound)
    #   GroupNotFound     'Group Remote Management Users was not found.' (ObjectNotFound)
    param(
        [Parameter(Mandatory = $true)][ValidateSet('MemberExists', 'MemberNotFound', 'AccessDenied', 'PrincipalNotFound', 'GroupNotFound')][string]$Kind,
        [ValidateSet('Add', 'Remove')][string]$Verb = 'Add',
        [string]$Member = 'CORP\monosync_svc',
        [string]$Group = 'Remote Management Users'
    )
    if ($null -eq ('Microsoft.PowerShell.Commands.MemberExistsException' -as [type])) { Add-Type -TypeDefinition $script:LocalAccountsExceptionSource }
    $spec = @{
        MemberExists      = @{ Message = ($WinText.MemberExists -f $Member, $Group); Category = 'ResourceExists'; Target = $Member }
        MemberNotFound    = @{ Message = ($WinText.MemberNotFound -f $Member, $Group); Category = 'ObjectNotFound'; Target = $Member }
        AccessDenied      = @{ Message = $WinText.LocalAccountsAccessDenied; Category = 'PermissionDenied'; Target = $Group }
        PrincipalNotFound = @{ Message = ($WinText.PrincipalNotFound -f $Member); Category = 'ObjectNotFound'; Target = $Member }
        GroupNotFound     = @{ Message = ($WinText.GroupNotFound -f $Group); Category = 'ObjectNotFound'; Target = $Group }
    }[$Kind]
    $exception = New-Object -TypeName "Microsoft.PowerShell.Commands.$($Kind)Exception" -ArgumentList $spec.Message
    return (New-WindowsErrorRecord -Exception $exception -ErrorId "$Kind,Microsoft.PowerShell.Commands.$($Verb)LocalGroupMemberCommand" -Category $spec.Category -TargetObject $spec.Target)
}

function New-AdsiError {
    # What a method of an ADSI object ([ADSI]'WinNT://...') throws: the DirectoryEntry adapter's
    # MethodInvocationException 'Exception calling "<Method>" with "<n>" argument(s): "<text>"', FQID
    # 'CatchFromBaseAdapterMethodInvokeTI', around the COMException with the HRESULT, e.g. 0x80070562
    # (-2147023518, MemberInAlias), 0x80070561 (-2147023519, MemberNotInAlias), 0x800708AC (-2147022676,
    # AdsiGroupNotFound), 0x80070005 (-2147024891, AdsiAccessDenied).
    param([Parameter(Mandatory = $true)][int]$HResult, [Parameter(Mandatory = $true)][string]$Message, [string]$Method = 'Add', [int]$ArgumentCount = 1)
    $inner = New-Object -TypeName System.Runtime.InteropServices.COMException -ArgumentList $Message, $HResult
    $text = 'Exception calling "{0}" with "{1}" argument(s): "{2}"' -f $Method, $ArgumentCount, $Message
    $exception = New-Object -TypeName System.Management.Automation.MethodInvocationException -ArgumentList $text, $inner
    return (New-WindowsErrorRecord -Exception $exception -ErrorId 'CatchFromBaseAdapterMethodInvokeTI')
}

function New-IdentityNotMappedError {
    # NTAccount.Translate (or SecurityIdentifier.Translate) of a name no DC knows, or with no domain to ask:
    # MethodInvocationException around System.Security.Principal.IdentityNotMappedException, FQID
    # 'IdentityNotMappedException'. The real type, made without its constructor (which refuses to run off
    # Windows), with its message and HResult (COR_E_SYSTEM) set.
    param([string]$Method = 'Translate')
    $exception = [System.Runtime.CompilerServices.RuntimeHelpers]::GetUninitializedObject([System.Security.Principal.IdentityNotMappedException])
    $flags = [System.Reflection.BindingFlags]'NonPublic,Instance'
    [System.Exception].GetField('_message', $flags).SetValue($exception, $WinText.IdentityNotMapped)
    [System.Exception].GetField('_HResult', $flags).SetValue($exception, -2146233087)
    return (New-MethodInvocationError -InnerException $exception -Method $Method -ArgumentCount 1)
}

Export-ModuleMember -Function New-LocalAccountsError, New-AdsiError, New-IdentityNotMappedError
#endregion

Export-ModuleMember -Function @(
    'ConvertFrom-JsonDocument', 'Get-StepTestData', 'Get-StepScriptText', 'Add-StrictModeLine', 'Save-StepScript', 'ConvertTo-RequestBase64',
    'Invoke-StepScript', 'Invoke-StepEnvelope', 'Get-LastStepOutput', 'ConvertFrom-StepEnvelope', 'Assert-StepEnvelopeContract', 'Get-FailureType',
    'Get-HostileValue', 'Get-LabHostJson', 'New-LabHost', 'Get-SeamSignature', 'Get-SeamFunctionName',
    'Set-SeamFake', 'Reset-SeamFake', 'Remove-SeamFake', 'Get-SeamCall', 'Clear-SeamCall',
    'Get-StepScriptCommand', 'Get-StepSeamViolation', 'New-WindowsErrorRecord', 'New-WsmanProviderError',
    'New-WsmanFaultError', 'New-MethodInvocationError', 'New-CimError'
) -Variable WinText
