// Preloaded into a child gateway (NODE_OPTIONS=--import <this file>) by overload tests: SIGUSR2
// toggles a timer that keeps the event loop busy 80 ms out of every 100 ms, the way a CPU-bound
// burst would. Test-only; never loaded by the gateway itself.
let timer = null;
process.on('SIGUSR2', () => {
  if (timer) {
    clearInterval(timer);
    timer = null;
    process.stderr.write('lag-hook: off\n');
    return;
  }
  timer = setInterval(() => {
    const until = Date.now() + 80;
    while (Date.now() < until);
  }, 100);
  process.stderr.write('lag-hook: on\n');
});
