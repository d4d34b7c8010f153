// Texts that follow the language: a node bound to a function of the strings is rewritten when
// the language changes (applyBindings). Shared by the flow (flow.js) and its request sections
// (rights.js).

import { el } from "../shared/dom.js";

/** text(ctx, node, fn): node's text is fn(), now and after every language change. */
export function text(ctx, node, fn) {
  ctx.bindings.push([node, fn]);
  node.textContent = fn();
  return node;
}

/** tx(ctx, tag, attrs, key, vars): a new element whose text is the string key. */
export function tx(ctx, tag, attrs, key, vars) {
  return text(ctx, el(tag, attrs), () => ctx.t(key, vars));
}

/** applyBindings(ctx): every bound node still shown gets its text in the current language. */
export function applyBindings(ctx) {
  ctx.bindings = ctx.bindings.filter(([node]) => node.isConnected);
  for (const [node, fn] of ctx.bindings) {
    const value = fn();
    if (node.textContent !== value) node.textContent = value; // unchanged text is not re-announced
  }
}
