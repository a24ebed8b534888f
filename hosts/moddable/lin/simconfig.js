// hosts/node/simconfig on the lin build: Moddable's own mc/config, built from manifest.json platforms.lin.config
// (the ESP32 reference wiring), instead of importing manifest.json as the Node simulator does.
import config from "mc/config";
export default config;
