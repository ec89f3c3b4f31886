# Runs the project's Pester tests: what `npm run test:ps` runs in pwsh 7 (scripts/test-ps.ts calls this
# file), and what runs them by hand in Windows PowerShell 5.1 or pwsh 7 on Windows (README, "Testing the
# PowerShell scripts"):
#
#   powershell.exe -NoProfile -ExecutionPolicy Bypass -File test\powershell\Invoke-PesterTests.ps1 -PesterModule <Pester.psd1>
#   ... -Tag RealServer -Path test\powershell\RealServer.Tests.ps1     the real-server tests (RealServer.Tests.ps1)
#
# The tags of $OptInTags run only when -Tag names them. Exit code: 0 when every test passed, else 1.
param(
    # Pester 5.7.1's manifest (tools/Pester.psd1 of the NuGet package).
    [Parameter(Mandatory = $true)][string]$PesterModule,
    # Test files or folders; default every *.Tests.ps1 under steps/ and test/powershell/.
    [string[]]$Path = @(),
    [string[]]$Tag = @(),
    [string]$JUnitFile = '',
    # A JSON summary per file, for scripts/test-ps.ts.
    [string]$SummaryFile = '',
    [ValidateSet('Auto', 'Ansi', 'ConsoleColor', 'Plaintext')][string]$RenderMode = 'Auto'
)
$ErrorActionPreference = 'Stop'

# They run the step scripts unfaked on a real Windows server (RealServer reads, RealServerApply changes it
# and rolls back): never as part of an ordinary run.
$OptInTags = @('RealServer', 'RealServerApply')

$root = (Resolve-Path -LiteralPath (Join-Path -Path $PSScriptRoot -ChildPath '../..')).Path
if ($Path.Count -eq 0) { $Path = @((Join-Path -Path $root -ChildPath 'steps'), (Join-Path -Path $root -ChildPath 'test/powershell')) }
$excluded = @($OptInTags | Where-Object { $Tag -notcontains $_ })

Import-Module -Name $PesterModule -Force
$config = New-PesterConfiguration
$config.Run.Path = [string[]]$Path
$config.Run.PassThru = $true
$config.Output.Verbosity = 'Detailed'
$config.Output.RenderMode = $RenderMode
if ($Tag.Count -gt 0) { $config.Filter.Tag = [string[]]$Tag }
if ($excluded.Count -gt 0) { $config.Filter.ExcludeTag = [string[]]$excluded }
if ($JUnitFile) {
    $config.TestResult.Enabled = $true
    $config.TestResult.OutputFormat = 'JUnitXml'
    $config.TestResult.OutputPath = $JUnitFile
}
Write-Host ('Pester {0} in PowerShell {1}; tags: {2}; left out: {3}' -f (Get-Module -Name Pester).Version, $PSVersionTable.PSVersion, ($(if ($Tag.Count -gt 0) { $Tag -join ', ' } else { 'all' })), ($(if ($excluded.Count -gt 0) { $excluded -join ', ' } else { 'none' })))
$run = Invoke-Pester -Configuration $config

if ($SummaryFile) {
    $files = @(foreach ($container in $run.Containers) {
            # A file that failed outside any test (discovery, BeforeAll/AfterAll) counts one failure.
            $outside = 0
            if ([string]$container.Result -eq 'Failed' -and $container.FailedCount -eq 0) { $outside = 1 }
            [ordered]@{ file = [string]$container.Item; result = [string]$container.Result; passed = $container.PassedCount; failed = $container.FailedCount + $outside; skipped = $container.SkippedCount; notRun = $container.NotRunCount }
        })
    $summary = [ordered]@{ result = [string]$run.Result; files = $files }
    [System.IO.File]::WriteAllText($SummaryFile, (ConvertTo-Json -InputObject $summary -Depth 4))
}
if ([string]$run.Result -eq 'Passed') { exit 0 }
exit 1
