// The real clock, for the effects: a run may move the program's clock (Date.now) a renewal slot
// ahead, while the hosts, the providers and the harness itself keep the real time.
const now = Date.now.bind(Date);

/** Milliseconds since the epoch, whatever the program's clock says. */
export function realNow(): number {
  return now();
}
