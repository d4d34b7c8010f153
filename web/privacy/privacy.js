// The privacy center: the page around the request flow (flow.js).

import { createI18n, bindLanguageButtons, translateDom } from "../shared/i18n.js";
import { createApi } from "../shared/api.js";
import { mountFlow } from "./flow.js";
import { strings } from "./strings.js";

/** The API base from GET /config.json ("" = this origin); "" when it cannot be read. */
export async function loadApiBase(fetchImpl = fetch) {
  try {
    const res = await fetchImpl("/config.json", { credentials: "omit", cache: "no-store", referrerPolicy: "no-referrer" });
    const cfg = res.ok ? await res.json() : null;
    return typeof cfg?.api === "string" ? cfg.api : "";
  } catch {
    return "";
  }
}

async function main() {
  const i18n = createI18n(strings);
  translateDom(i18n);
  bindLanguageButtons(i18n);
  const base = await loadApiBase();
  mountFlow(document.getElementById("flow"), { api: createApi({ base }), apiBase: base, i18n });
}

main();
