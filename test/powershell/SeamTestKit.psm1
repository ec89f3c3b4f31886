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
#   (Get-SeamCall -Name Set-WinWsmanItem).Count | Should -Be 1

Set-StrictMode -Version Latest

$script:RepoRoot = (Resolve-Path -LiteralPath (Join-Path -Path $PSScriptRoot -ChildPath '../..')).Path
$script:CommonFile = Join-Path -Path $script:RepoRoot -ChildPath 'powershell/MonosyncCommon.ps1'
$script:SeamCalls = New-Object -TypeName 'System.Collections.Generic.List[object]'
$script:Envelopes = New-Object -TypeName 'System.Collections.Generic.List[object]'
$script:Signatures = $null

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
            $data = [System.IO.File]::ReadAllText($out) | ConvertFrom-Json -AsHashtable -DateKind String
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
    # script block bound to a fresh module, the request as base64 of UTF-8 JSON. Returns every object the
    # script wrote to the output stream.
    [CmdletBinding(DefaultParameterSetName = 'Request')]
    param(
        [string]$Name,
        [string]$Text,
        [Parameter(ParameterSetName = 'Request')] $Request,
        [Parameter(ParameterSetName = 'Json')][string]$RequestJson,
        [Parameter(ParameterSetName = 'Base64')][string]$RequestBase64,
        [bool]$StrictMode = $true
    )
    if (-not $Text) { $Text = Get-StepScriptText -Name $Name -StrictMode $StrictMode }
    switch ($PSCmdlet.ParameterSetName) {
        'Request' { $encoded = ConvertTo-RequestBase64 -Json (ConvertTo-Json -InputObject $Request -Compress -Depth 10) }
        'Json' { $encoded = ConvertTo-RequestBase64 -Json $RequestJson }
        'Base64' { $encoded = $RequestBase64 }
    }
    $block = [scriptblock]::Create($Text)
    return @(& $block.GetNewClosure() -RequestBase64 $encoded)
}

function ConvertFrom-StepEnvelope {
    # The one envelope a script printed, checked for the runner's contract (one JSON document on one line)
    # and kept for Assert-StepEnvelopeContract.
    param(
        [Parameter(ValueFromPipeline = $true)] $InputObject,
        [Parameter(Mandatory = $true)][string]$Script,
        [object[]]$Output
    )
    begin { $lines = New-Object -TypeName 'System.Collections.Generic.List[object]' }
    process { if ($null -ne $InputObject) { $lines.Add($InputObject) } }
    end {
        if ($PSBoundParameters.ContainsKey('Output')) { $all = @($Output) } else { $all = $lines.ToArray() }
        $all.Count | Should -Be 1 -Because 'the script prints exactly one envelope'
        $all[0] | Should -BeOfType [string]
        $all[0] | Should -Not -Match '\n' -Because 'the envelope is one line'
        $envelope = ConvertFrom-Json -InputObject $all[0]
        $envelope.schema | Should -Be 'monosync.onboard.step/v1'
        $envelope.script | Should -Be $Script
        $script:Envelopes.Add([ordered]@{ script = $Script; line = [string]$all[0]; test = (Get-CurrentTestName -SessionState $PSCmdlet.SessionState) })
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
        $problems = @([System.IO.File]::ReadAllText($out) | ConvertFrom-Json)
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
    # The HOSTILE values of test/powershell-injection.test.ts (read from that file by node).
    return [string[]]@((Get-StepTestData).hostile)
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
    return (ConvertFrom-Json -InputObject (Get-LabHostJson -Profile $Profile) -DateKind String)
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
    return [string[]]@((Get-SeamSignature).Keys)
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
    # The seam calls since the last Reset-SeamFake or Clear-SeamCall: objects {Name, Parameters}.
    param([string]$Name)
    $all = $script:SeamCalls.ToArray()
    if ($Name) { return @($all | Where-Object { $_.Name -eq $Name }) }
    return @($all)
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
    return [string[]]$violations.ToArray()
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

Export-ModuleMember -Function @(
    'Get-StepTestData', 'Get-StepScriptText', 'Add-StrictModeLine', 'Save-StepScript', 'ConvertTo-RequestBase64',
    'Invoke-StepScript', 'ConvertFrom-StepEnvelope', 'Assert-StepEnvelopeContract', 'Get-FailureType',
    'Get-HostileValue', 'Get-LabHostJson', 'New-LabHost', 'Get-SeamSignature', 'Get-SeamFunctionName',
    'Set-SeamFake', 'Reset-SeamFake', 'Remove-SeamFake', 'Get-SeamCall', 'Clear-SeamCall',
    'Get-StepScriptCommand', 'Get-StepSeamViolation', 'New-WindowsErrorRecord', 'New-WsmanProviderError',
    'New-WsmanFaultError', 'New-MethodInvocationError', 'New-CimError'
) -Variable WinText
