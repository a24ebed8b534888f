// Jest reporter: closes the output with the plain summary line CI reads ("jest: N passed, N failed, N skipped"),
// after a line counting the tests that ran inside Moddable's XS engine (titles containing "inside XS"), so a run
// shows that the second engine was exercised and skipped nothing.
class SummaryReporter {
  onRunComplete(_contexts, results) {
    const xs = { passed: 0, failed: 0, skipped: 0 };
    for (const file of results.testResults) {
      for (const test of file.testResults) {
        if (!/inside XS/.test(test.fullName)) continue;
        if (test.status === "passed") xs.passed++;
        else if (test.status === "failed") xs.failed++;
        else xs.skipped++;
      }
    }
    const skipped = results.numPendingTests + results.numTodoTests;
    process.stdout.write(
      `\nXS engine: ${xs.passed} tests passed inside XS, ${xs.failed} failed, ${xs.skipped} skipped\n`,
    );
    process.stdout.write(
      `jest: ${results.numPassedTests} passed, ${results.numFailedTests} failed, ${skipped} skipped\n`,
    );
  }
}
module.exports = SummaryReporter;
