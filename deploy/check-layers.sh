#!/usr/bin/env bash
#
# The layers of Sources, checked: each module may import only the modules listed for it
# below (and system or package-dependency modules). The table is the architecture picture
# of README.md in text:
#
#   edge (FastCGIServer) -> HTTPMessages
#   endpoints and pages (DeviceGateHTTP, DeviceGateWeb) -> flow logic and the storage
#     contract (DeviceFlow) <- backends (DirectoryStorage, PostgresStorage)
#   HostFiles (syscalls, counter pages, audit log) under the backends and telemetry
#   DeviceGateAssembly and the devicegate executable on top, the only ones that name a backend
#
#     deploy/check-layers.sh        exits 1 and names the import if a module reaches above itself
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

declare -A allowed=(
    [CCrypt]="" [CFastCGI]="" [CLibPQ]="" [CSupport]="" [HTTPMessages]=""
    [DeviceFlow]=""
    [DeviceGateConfig]="DeviceFlow"
    [HostFiles]="DeviceFlow CSupport"
    [DirectoryStorage]="DeviceFlow HostFiles CSupport"
    [PostgresStorage]="DeviceFlow CLibPQ"
    [Observability]="DeviceFlow HostFiles"
    [TokenSigning]="DeviceFlow"
    [DeviceGateHTTP]="HTTPMessages DeviceFlow DeviceGateConfig HostFiles TokenSigning Observability"
    [DeviceGateWeb]="CCrypt DeviceFlow DeviceGateConfig DeviceGateHTTP Observability"
    [FastCGIServer]="CFastCGI CSupport HTTPMessages"
    [DeviceGateAssembly]="DeviceFlow DeviceGateConfig DirectoryStorage PostgresStorage HostFiles TokenSigning Observability DeviceGateHTTP DeviceGateWeb"
    [devicegate]="*"
    [CQRencode]="" [CCurl]=""
    [DeviceGateLogin]="FoundationEssentials"
    [devicegate-login]="DeviceGateLogin CQRencode CCurl FoundationEssentials"
)
external="Glibc Darwin Foundation Synchronization Logging Crypto _CryptoExtras Yams Mustache ArgumentParser"

status=0
for dir in Sources/*/; do
    module=$(basename "$dir")
    if [[ -z ${allowed[$module]+set} ]]; then
        echo "check-layers: $module is not in deploy/check-layers.sh's table: add it to its layer" >&2
        status=1
        continue
    fi
    [[ ${allowed[$module]} == "*" ]] && continue
    while IFS=: read -r file imported; do
        [[ " $external ${allowed[$module]} " == *" $imported "* ]] && continue
        echo "check-layers: $file imports $imported, which $module may not use" >&2
        status=1
    done < <(grep -rHoE '^(@[A-Za-z_()]+ )*import [A-Za-z_]+' "$dir" --include='*.swift' |
        sed -E 's/^([^:]+):.* ([A-Za-z_]+)$/\1:\2/' | sort -u)
done
exit $status
