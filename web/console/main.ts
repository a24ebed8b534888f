// The operator console's page script (placeholder until the views land).
import { element } from "./dom";

element("status").textContent = "Sign in with an API key from `solkey apikey create`.";
