// Progress of a long run on stderr: a live count on a TTY, plain lines otherwise (CI logs).
// --quiet drops the counts only: what did not pass, the summary and the report path are always said.
export class Progress {
  constructor({ stream = process.stderr, quiet = false, label = "" } = {}) {
    this.stream = stream;
    this.quiet = quiet;
    this.tty = Boolean(stream.isTTY) && !process.env.CI && !quiet;
    this.label = label;
    this.total = 0;
    this.done = 0;
    this.bad = 0;
    this.lastPlain = 0;
  }

  start(total, label = this.label) {
    this.total = total;
    this.done = 0;
    this.bad = 0;
    this.label = label;
    this.lastPlain = Date.now();
    if (!this.quiet && !this.tty) this.stream.write(`${label}: ${total} to run\n`);
  }

  /** One item finished; items that failed or broke are also named on their own line, with why. */
  tick(id, grade, message) {
    this.done++;
    const failed = grade !== "PASS" && grade !== "UNSUPPORTED";
    if (grade !== "PASS") this.bad++;
    const named = failed ? `${this.quiet ? `${this.label}: ` : "  "}${grade} ${id}${message ? `: ${message.slice(0, 300)}` : ""}\n` : "";
    if (this.tty) {
      this.stream.write(`\r\x1b[K${named}${this.label}: ${this.done}/${this.total}${this.bad ? ` (${this.bad} not passed)` : ""}`);
      return;
    }
    if (named) this.stream.write(named);
    if (!this.quiet && (Date.now() - this.lastPlain > 5000 || this.done === this.total)) {
      this.lastPlain = Date.now();
      this.stream.write(`${this.label}: ${this.done}/${this.total}\n`);
    }
  }

  end() {
    if (this.tty) this.stream.write(`\r\x1b[K${this.label}: ${this.done}/${this.total}${this.bad ? ` (${this.bad} not passed)` : ""}\n`);
  }

  /** A line for the log; with --quiet it is dropped. */
  note(text) {
    if (!this.quiet) this.say(text);
  }

  /** A line that is always written: summaries, report paths, why nothing ran. */
  say(text) {
    this.stream.write(`${this.tty ? "\r\x1b[K" : ""}${text}\n`);
  }
}
