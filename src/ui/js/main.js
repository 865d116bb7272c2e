// The dashboard's entry: the five views as keyboard-operable tabs (arrow keys, Home/End;
// the URL hash keeps the view across reloads), and the overview's poll feeding the chain
// lists of the other views.

import * as overview from "./overview.js";
import * as operations from "./operations.js";
import * as measurements from "./measurements.js";
import * as experiments from "./experiments.js";
import * as ibc from "./ibc.js";

const VIEWS = ["overview", "operations", "measurements", "experiments", "ibc"];
const tabs = VIEWS.map((v) => document.getElementById(`tab-${v}`));

function show(view, focus = false) {
  VIEWS.forEach((v, i) => {
    const selected = v === view;
    tabs[i].setAttribute("aria-selected", String(selected));
    tabs[i].tabIndex = selected ? 0 : -1;
    document.getElementById(`view-${v}`).hidden = !selected;
  });
  if (focus) tabs[VIEWS.indexOf(view)].focus();
  if (location.hash !== `#${view}`) history.replaceState(null, "", `#${view}`);
  if (view === "operations") operations.shown();
  if (view === "measurements") measurements.shown();
  else measurements.hidden();
  if (view === "experiments") experiments.shown();
  if (view === "ibc") ibc.shown();
  else ibc.hidden();
}

// Hint links lead to a view by its hash (e.g. an action's route to Operations).
window.addEventListener("hashchange", () => {
  const view = location.hash.slice(1);
  if (VIEWS.includes(view)) show(view);
});

tabs.forEach((tab, i) => {
  tab.addEventListener("click", () => show(VIEWS[i]));
  tab.addEventListener("keydown", (e) => {
    const move = { ArrowRight: 1, ArrowLeft: -1, Home: -i, End: VIEWS.length - 1 - i }[e.key];
    if (move === undefined) return;
    e.preventDefault();
    show(VIEWS[(i + move + VIEWS.length) % VIEWS.length], true);
  });
});

operations.init();
measurements.init();
experiments.init();
ibc.init();
overview.onChains((chains) => {
  operations.setChains(chains);
  measurements.setChains(chains);
  ibc.setChains(chains);
});
overview.start();
show(VIEWS.includes(location.hash.slice(1)) ? location.hash.slice(1) : "overview");
