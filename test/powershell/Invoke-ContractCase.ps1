# The pwsh side of the script/lab contract (test/support/script-contract.ts): runs every case of one test
# file in this one process. For each case the seam is bound (LabSeam.psm1) to the machine's starting state
# as the lab holds it, then the step script runs each call exactly as the runner sends it (standalone text,
# one script block in a fresh module, base64 request), under Set-StrictMode -Version Latest. Each call's
# output lines and the machine's state afterwards go to -OutputFile as JSON.
param(
    [Parameter(Mandatory = $true)][string]$InputFile,
    [Parameter(Mandatory = $true)][string]$OutputFile
)
$ErrorActionPreference = 'Stop'
Import-Module -Name (Join-Path -Path $PSScriptRoot -ChildPath 'SeamTestKit.psm1') -Force
Import-Module -Name (Join-Path -Path $PSScriptRoot -ChildPath 'LabSeam.psm1') -Force

$document = ConvertFrom-JsonDocument -Json ([System.IO.File]::ReadAllText($InputFile)) -AsPSCustomObject
$texts = @{}
foreach ($property in $document.scripts.PSObject.Properties) {
    $texts[$property.Name] = Add-StrictModeLine -Text ([string]$property.Value)
}

$results = foreach ($case in @($document.cases)) {
    $machine = $case.machine
    Use-LabSeam -Machine $machine
    $calls = foreach ($call in @($case.calls)) {
        $request = [ordered]@{ mode = $call.mode; params = $call.params; rollbackTo = $call.rollbackTo }
        $output = @()
        $failure = $null
        try {
            $output = @(Invoke-StepScript -Text $texts[[string]$case.script] -Request $request)
        } catch {
            $failure = "the script threw instead of printing an envelope: $($_.Exception.Message)"
        }
        [ordered]@{
            output  = [object[]]@($output | ForEach-Object { if ($_ -is [string]) { $_ } else { "(not a string: $($_.GetType().FullName)) $_" } })
            machine = (ConvertFrom-JsonDocument -Json (ConvertTo-Json -InputObject $machine -Depth 20 -Compress))
            error   = $failure
        }
    }
    [ordered]@{ id = [string]$case.id; results = [object[]]@($calls) }
}
Remove-SeamFake
[System.IO.File]::WriteAllText($OutputFile, (ConvertTo-Json -InputObject ([object[]]@($results)) -Depth 30 -Compress))
