// firmware/storage/flash on the lin build: the name a relative import from hosts/node reaches, the firmware's module.
export * from "storage/flash";
