; Inno Setup script for the Windows installer of Kling Studio.
;
; Build the bundle first (from the repository root), then compile this script:
;   pyinstaller --noconfirm packaging\pyinstaller\kling-studio.spec
;   iscc /DAppVersion=0.1.0 packaging\windows\kling-studio.iss
; Output: dist\KlingStudio-<version>-Setup.exe
;
; Per-user install: no administrator rights, no UAC prompt. The app goes to
; %LOCALAPPDATA%\Programs\Kling Studio, with a Start-menu entry, an uninstaller (Settings > Apps) and
; the .klingproj project-file association, all under HKEY_CURRENT_USER.

#ifndef AppVersion
  #define AppVersion "0.0.0"
#endif
#define AppName "Kling Studio"
#define AppExe "kling-studio.exe"
#define ProgId "KlingStudio.Project"
; Paths are relative to this file's folder.
#define BundleDir "..\..\dist\kling-studio"

[Setup]
AppId={{8E4C2F5A-3B7D-4E61-9A0C-6F2D1B8E7C45}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher=Kling Studio
AppPublisherURL=https://klingstudio.ai
VersionInfoVersion={#AppVersion}
PrivilegesRequired=lowest
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
UsePreviousAppDir=yes
ChangesAssociations=yes
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
SetupIconFile=..\..\kling_studio\resources\icons\app-icon.ico
UninstallDisplayIcon={app}\{#AppExe}
UninstallDisplayName={#AppName}
OutputDir=..\..\dist
OutputBaseFilename=KlingStudio-{#AppVersion}-Setup
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
CloseApplications=yes

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
Source: "{#BundleDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\{#AppName}"; Filename: "{app}\{#AppExe}"; WorkingDir: "{app}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; WorkingDir: "{app}"; Tasks: desktopicon

[Registry]
; HKA is HKEY_CURRENT_USER for a per-user install: double-clicking a .klingproj opens it in Kling Studio.
Root: HKA; Subkey: "Software\Classes\.klingproj"; ValueType: string; ValueName: ""; ValueData: "{#ProgId}"; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.klingproj\OpenWithProgids"; ValueType: string; ValueName: "{#ProgId}"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\{#ProgId}"; ValueType: string; ValueName: ""; ValueData: "Kling Studio Project"; Flags: uninsdeletekey
Root: HKA; Subkey: "Software\Classes\{#ProgId}\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: "{app}\{#AppExe},0"
Root: HKA; Subkey: "Software\Classes\{#ProgId}\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\{#AppExe}"" ""%1"""
Root: HKA; Subkey: "Software\Classes\Applications\{#AppExe}\SupportedTypes"; ValueType: string; ValueName: ".klingproj"; ValueData: ""; Flags: uninsdeletekey

[Run]
Filename: "{app}\{#AppExe}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent
