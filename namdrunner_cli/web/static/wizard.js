// The Create job form as steps (template -> files -> resources -> review): one step shown at a time,
// each step's link saying how many of its fields have a mistake, the first step with a mistake opened
// when the review sent the form back. Review can be pressed from any step: every mistake of every
// step comes back at once. Files can be dropped on the Files step: each goes to the file field whose
// endings it has. Without JavaScript the form is one page with every step, and works the same.
(() => {
  const form = document.getElementById("create-form");
  const nav = document.getElementById("wizard-steps");
  if (!form || !nav) return;
  const steps = [...form.querySelectorAll("fieldset[data-step]")];
  const links = [...nav.querySelectorAll("a[data-step]")];

  function show(name, focus) {
    for (const step of steps) step.hidden = step.dataset.step !== name;
    for (const link of links) {
      const on = link.dataset.step === name;
      link.parentElement.classList.toggle("on", on);
      if (on) link.setAttribute("aria-current", "step"); else link.removeAttribute("aria-current");
    }
    if (focus) {
      const first = form.querySelector(`fieldset[data-step="${name}"] input:not([type=hidden]), fieldset[data-step="${name}"] select`);
      if (first) first.focus();
    }
  }
  for (const link of links) {
    const errors = form.querySelectorAll(`fieldset[data-step="${link.dataset.step}"] .field-error`).length;
    if (errors) {
      link.insertAdjacentHTML("beforeend", ` <span class="badge failed">${errors}</span>`);
      link.setAttribute("aria-label", `${link.textContent.trim()}: ${errors} to fix`);
    }
    link.addEventListener("click", (ev) => { ev.preventDefault(); show(link.dataset.step, true); });
  }
  for (const buttons of form.querySelectorAll(".step-buttons")) buttons.hidden = false;
  form.addEventListener("click", (ev) => {
    const go = ev.target.closest("button[data-go]");
    if (go) show(go.dataset.go, true);
  });
  const firstError = form.querySelector("fieldset[data-step] .field-error");
  const wanted = location.hash.startsWith("#step-") ? location.hash.slice(6) : null;
  show(firstError ? firstError.closest("fieldset").dataset.step : wanted || steps[0].dataset.step, false);

  // -- drag and drop: each dropped file to the file field whose endings it has ------------------
  const zone = document.getElementById("dropzone");
  const filesStep = document.getElementById("step-files");
  const said = document.getElementById("dropped");
  if (!zone || !filesStep || !window.DataTransfer) return;
  zone.hidden = false;
  filesStep.addEventListener("dragover", (ev) => { ev.preventDefault(); filesStep.classList.add("dragging"); });
  filesStep.addEventListener("dragleave", () => filesStep.classList.remove("dragging"));
  filesStep.addEventListener("drop", (ev) => {
    ev.preventDefault();
    filesStep.classList.remove("dragging");
    const inputs = [...filesStep.querySelectorAll("input[type=file]")];
    const placed = [], unplaced = [];
    for (const file of ev.dataTransfer.files) {
      const name = file.name.toLowerCase();
      const fits = (input) => (input.accept || "").split(",").some((ext) => ext && name.endsWith(ext.trim().toLowerCase()));
      const input = inputs.find((i) => fits(i) && !i.files.length) || null;
      if (!input) { unplaced.push(file.name); continue; }
      const dt = new DataTransfer();
      dt.items.add(file);
      input.files = dt.files;
      const label = input.closest("label").firstChild.textContent.trim();
      placed.push(`${file.name} -> ${label}`);
    }
    said.textContent = [placed.length ? "Placed: " + placed.join(", ") + "." : "",
      unplaced.length ? "No free field takes: " + unplaced.join(", ") + " (each field's endings are shown beside it)." : ""]
      .filter(Boolean).join(" ");
  });
})();
