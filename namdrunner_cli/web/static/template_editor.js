// The template editor: the config text in CodeJar (vendored, see vendor/codejar.LICENSE) with NAMD
// highlighting, variables added and removed in place, and a live check (every problem at its field,
// the config rendered with the defaults, what NAMD would refuse) a moment after each change.
// Without JavaScript the form still works: a plain text box, a blank row for a new variable, and
// Save shows every problem at its field.
import { CodeJar } from "/static/vendor/codejar.js";

const form = document.getElementById("template-form");
const csrf = document.querySelector('meta[name="csrf-token"]').content;
const textarea = document.getElementById("template-text");

function escapeHtml(s) {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

// One line of NAMD/Tcl at a time: a comment (# or ;#), Jinja {{ }} / {% %}, the keyword that starts
// a command, numbers, and the booleans NAMD reads.
const TOKENS = /(\{\{.*?\}\}|\{%.*?%\})|((?:^|;)\s*#.*$)|(^\s*[A-Za-z_][\w]*)|((?<![\w.-])-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w.-]))|(\b(?:on|off|yes|no|true|false)\b)/gi;
export function highlight(text) {
  return text.split("\n").map((line) => {
    let out = "", last = 0;
    line.replace(TOKENS, (m, jinja, comment, keyword, number, bool, at) => {
      out += escapeHtml(line.slice(last, at));
      const cls = jinja ? "tj" : comment ? "tc" : keyword ? "tk" : number ? "tn" : "tb";
      out += `<span class="${cls}">${escapeHtml(m)}</span>`;
      last = at + m.length;
      return m;
    });
    return out + escapeHtml(line.slice(last));
  }).join("\n");
}

if (form && textarea) {
  const box = document.createElement("div");
  box.className = "code-editor";
  box.setAttribute("role", "textbox");
  box.setAttribute("aria-multiline", "true");
  box.setAttribute("aria-label", "NAMD config text");
  box.id = "template-text-editor";
  textarea.after(box);
  textarea.hidden = true;
  const jar = CodeJar(box, (el) => { el.innerHTML = highlight(el.textContent); },
    { tab: "  ", catchTab: false, addClosing: false, spellcheck: false });
  jar.updateCode(textarea.value);
  jar.onUpdate((code) => { textarea.value = code; schedule(); });

  const rows = document.getElementById("variables");
  const rowTemplate = document.getElementById("var-row-template");
  let next = rows.querySelectorAll("fieldset.var").length;
  document.getElementById("add-var").addEventListener("click", () => {
    const html = rowTemplate.innerHTML.replaceAll("9999", String(next++));
    rows.insertAdjacentHTML("beforeend", html);
    showMoves();
    rows.lastElementChild.querySelector("input[name$='.key']").focus();
    schedule();
  });
  // the variables' order is the create form's: moved up or down, the rows are numbered again in
  // their new order (the server reads var.N in N's order)
  const renumber = () => {
    rows.querySelectorAll("fieldset.var").forEach((row, k) => {
      row.dataset.row = String(k);
      row.querySelectorAll("[name^='var.']").forEach((e) => { e.name = e.name.replace(/^var\.\d+\./, `var.${k}.`); });
      row.querySelectorAll("[data-field^='variables.']").forEach((e) => {
        e.dataset.field = e.dataset.field.replace(/^variables\.\d+\./, `variables.${k}.`);
      });
    });
  };
  const showMoves = () => rows.querySelectorAll(".var-moves").forEach((m) => { m.hidden = false; });
  showMoves();
  rows.addEventListener("click", (ev) => {
    const move = ev.target.closest(".move-var");
    if (move) {
      const row = move.closest("fieldset.var");
      const other = move.dataset.move === "-1" ? row.previousElementSibling : row.nextElementSibling;
      if (!other || !other.matches("fieldset.var")) return;
      if (move.dataset.move === "-1") other.before(row); else other.after(row);
      renumber();
      move.focus();
      schedule();
      return;
    }
    const button = ev.target.closest(".remove-var");
    if (!button) return;
    button.closest("fieldset.var").remove();
    schedule();
  });
  rows.addEventListener("input", (ev) => {
    if (ev.target.name && ev.target.name.endsWith(".key")) {
      ev.target.closest("fieldset.var").querySelector(".var-name").textContent = ev.target.value || "(new)";
    }
  });
  form.addEventListener("input", (ev) => { if (ev.target !== textarea) schedule(); });
  form.addEventListener("change", schedule);

  let timer = null, sent = 0;
  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(check, 450);
  }
  async function check() {
    const mine = ++sent;
    const state = document.getElementById("check-state");
    state.textContent = "Checking...";
    let answer;
    try {
      const r = await fetch("/templates/check", { method: "POST", body: new FormData(form),
        headers: { "X-CSRF-Token": csrf, "Accept": "application/json" } });
      answer = await r.json();
      if (!r.ok) throw new Error(answer.error || r.statusText);
    } catch (err) {
      if (mine === sent) state.textContent = "The check could not run: " + err.message;
      return;
    }
    if (mine !== sent) return;  // a newer check is on its way
    show(answer);
  }
  function show(answer) {
    form.querySelectorAll(".field-error").forEach((e) => e.remove());
    const summary = document.getElementById("form-errors");  // Save's summary: kept true, not dropped
    if (summary && !answer.problems.length) summary.remove();
    else if (summary) summary.textContent = `${answer.problems.length} thing${answer.problems.length > 1 ? "s" : ""} to fix, each shown at its field.`;
    for (const [field, message] of answer.problems) {
      const at = form.querySelector(`[data-field="${CSS.escape(field)}"]`);
      const p = document.createElement("p");
      p.className = "error field-error";
      p.dataset.for = field;
      p.textContent = at ? message : `${field}: ${message}`;
      (at || form.querySelector(".actions")).append(p);
    }
    const list = (id, items) => {
      const ul = document.getElementById(id);
      ul.replaceChildren(...items.map((t) => { const li = document.createElement("li"); li.textContent = t; return li; }));
    };
    list("check-refused", answer.refused.map((t) => "NAMD would refuse: " + t));
    list("check-warnings", answer.warnings);
    document.getElementById("check-config").innerHTML = answer.config ? highlight(answer.config) : "";
    const n = answer.problems.length;
    document.getElementById("check-state").textContent = n
      ? `${n} thing${n > 1 ? "s" : ""} to fix, each shown at its field.`
      : answer.refused.length ? "With the defaults NAMD would refuse this config (below); it can be saved, and each job is checked again when created."
      : "No problems: NAMD would accept this config with the defaults.";
  }
  check();
}
