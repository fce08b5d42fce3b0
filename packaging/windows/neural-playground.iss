; Inno Setup 6 script for Neural Playground (Windows x64).
;
; Build (on Windows, after packaging\build.sh has produced dist\NeuralPlayground\ from Git Bash/MSYS,
; or `pyinstaller packaging\playground.spec` from the packaging venv):
;     iscc /DAppVersion=0.1.0 packaging\windows\neural-playground.iss
; Output: dist\NeuralPlayground-<version>-windows-x64-setup.exe
;
; The installer asks "for me only" (default; no admin rights, %LOCALAPPDATA%\Programs) or
; "for all users" (admin, Program Files). It adds a Start-menu shortcut, an optional desktop icon,
; opens *.playground files with the app, and registers an uninstaller ("Apps & features").
; Uninstalling also removes the compiled-kernel cache in %LOCALAPPDATA%\NeuralPlayground\numba-cache.

#ifndef AppVersion
  #define AppVersion "0.0.0"
#endif
#define AppName "Neural Playground"
#define AppExe "playground.exe"
#define SrcDir "..\..\dist\NeuralPlayground"
#define IconDir "..\..\resources\icons"

[Setup]
; A fixed AppId keeps upgrades in place: never change it.
AppId={{6C1F3E0A-5B8E-4C55-9C8B-1E6A2D7F4B90}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher=Neural Playground contributors
DefaultDirName={autopf}\NeuralPlayground
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
ChangesAssociations=yes
OutputDir=..\..\dist
OutputBaseFilename=NeuralPlayground-{#AppVersion}-windows-x64-setup
SetupIconFile={#IconDir}\playground.ico
UninstallDisplayIcon={app}\{#AppExe}
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
MinVersion=10.0

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked
Name: "association"; Description: "Open *.playground session files with {#AppName}"; GroupDescription: "File types:"

[Files]
Source: "{#SrcDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs
Source: "{#IconDir}\application-x-playground.ico"; DestDir: "{app}"; Flags: ignoreversion

[Icons]
Name: "{group}\{#AppName}"; Filename: "{app}\{#AppExe}"; WorkingDir: "{userdocs}"
Name: "{group}\Uninstall {#AppName}"; Filename: "{uninstallexe}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; WorkingDir: "{userdocs}"; Tasks: desktopicon

[Registry]
; HKA = HKCU for a per-user install, HKLM for all users.
Root: HKA; Subkey: "Software\Classes\.playground"; ValueType: string; ValueName: ""; ValueData: "NeuralPlayground.Session"; Flags: uninsdeletevalue; Tasks: association
Root: HKA; Subkey: "Software\Classes\.playground"; ValueType: string; ValueName: "Content Type"; ValueData: "application/x-playground"; Tasks: association
Root: HKA; Subkey: "Software\Classes\NeuralPlayground.Session"; ValueType: string; ValueName: ""; ValueData: "Neural Playground session"; Flags: uninsdeletekey; Tasks: association
Root: HKA; Subkey: "Software\Classes\NeuralPlayground.Session\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: "{app}\application-x-playground.ico,0"; Tasks: association
Root: HKA; Subkey: "Software\Classes\NeuralPlayground.Session\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\{#AppExe}"" ""%1"""; Tasks: association
Root: HKA; Subkey: "Software\Classes\Applications\{#AppExe}\SupportedTypes"; ValueType: string; ValueName: ".playground"; ValueData: ""; Flags: uninsdeletekey

[Run]
Filename: "{app}\{#AppExe}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent

[UninstallDelete]
Type: filesandordirs; Name: "{localappdata}\NeuralPlayground\numba-cache"
