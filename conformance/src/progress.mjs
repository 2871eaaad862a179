// Progress of a long run on stderr: a live count on a TTY, plain lines otherwise (CI logs).
export class Progress {
  constructor({ stream = process.stderr, quiet = false, label = "" } = {}) {
    this.stream = stream;
    this.quiet = quiet;
    this.tty = Boolean(stream.isTTY) && !process.env.CI;
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

  /** One item finished; `failed` items are also named on their own line. */
  tick(id, grade) {
    this.done++;
    const failed = grade !== "PASS" && grade !== "UNSUPPORTED";
    if (grade !== "PASS") this.bad++;
    if (this.quiet) return;
    if (this.tty) {
      if (failed) this.stream.write(`\r\x1b[K  ${grade} ${id}\n`);
      this.stream.write(`\r\x1b[K${this.label}: ${this.done}/${this.total}${this.bad ? ` (${this.bad} not passed)` : ""}`);
    } else {
      if (failed) this.stream.write(`  ${grade} ${id}\n`);
      if (Date.now() - this.lastPlain > 5000 || this.done === this.total) {
        this.lastPlain = Date.now();
        this.stream.write(`${this.label}: ${this.done}/${this.total}\n`);
      }
    }
  }

  end() {
    if (!this.quiet && this.tty) this.stream.write(`\r\x1b[K${this.label}: ${this.done}/${this.total}${this.bad ? ` (${this.bad} not passed)` : ""}\n`);
  }

  note(text) {
    if (!this.quiet) this.stream.write(`${this.tty ? "\r\x1b[K" : ""}${text}\n`);
  }
}
